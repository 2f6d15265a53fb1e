#include "rpc/grpc/testing/interop_service.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace syslink::interop {
namespace {

// Adds the trailing metadata the caller's metadata asks for (interop_service.h).
void AnswerMetadata(rpc::ServerContext& context) {
  std::vector<std::string> keys;
  bool list = false;
  for (const auto& [key, value] : context.client_metadata()) {
    keys.push_back(key);
    if (absl::StartsWith(key, "echo-")) context.AddTrailingMetadata(key, value);
    if (key == "list-metadata") list = true;
    if (key == "add-trailer") {
      const size_t equals = value.find('=');
      context.AddTrailingMetadata(value.substr(0, equals),
                                  equals == std::string::npos ? "" : value.substr(equals + 1));
    }
  }
  if (list) context.AddTrailingMetadata("metadata-keys", absl::StrJoin(keys, ","));
}

// Answers with an attachment as large as the request's, filled by `fill(in, out)`; none
// when the request has none.
template <typename Fill>
absl::Status AnswerAttachment(rpc::ServerContext& context, Fill fill) {
  std::span<const std::byte> in = std::as_const(context.request_attachment()).data();
  if (in.empty()) return absl::OkStatus();
  absl::StatusOr<rpc::Attachment> out = context.AllocateAttachment(in.size());
  if (!out.ok()) return out.status();
  fill(in, out->data());
  context.set_response_attachment(*std::move(out));
  return absl::OkStatus();
}

}  // namespace

absl::Status InteropService::Echo(rpc::ServerContext& context, const Text& request,
                                  Text* response) {
  AnswerMetadata(context);
  *response = request;
  return AnswerAttachment(context, [](std::span<const std::byte> in, std::span<std::byte> out) {
    std::memcpy(out.data(), in.data(), in.size());
  });
}

absl::Status InteropService::Fail(rpc::ServerContext& context, const Text& request,
                                  Text* response) {
  AnswerMetadata(context);
  return absl::Status(static_cast<absl::StatusCode>(request.code()), request.text());
}

absl::Status InteropService::Hold(rpc::ServerContext& context, const Text& request,
                                  Text* response) {
  AnswerMetadata(context);
  ++holding;
  if (on_hold) on_hold();
  // Woken by the caller's giving up (its hook), or else by its deadline or after 30 s.
  absl::Notification gave_up;
  context.OnCancel([&gave_up] { gave_up.Notify(); });
  (void)gave_up.WaitForNotificationWithDeadline(
      std::min(context.deadline(), absl::Now() + absl::Seconds(30)));
  context.OnCancel(nullptr);
  const bool cancelled = context.cancelled();
  if (cancelled) ++saw_cancelled;
  if (on_hold_end) on_hold_end(cancelled);
  --holding;
  return absl::CancelledError(cancelled ? "the caller gave up" : "held for 30 s");
}

absl::Status InteropService::Reverse(rpc::ServerContext& context, const Text& request,
                                     Text* response) {
  AnswerMetadata(context);
  response->set_text(
      absl::StrCat("reversed ", std::as_const(context.request_attachment()).data().size()));
  return AnswerAttachment(context, [](std::span<const std::byte> in, std::span<std::byte> out) {
    for (size_t i = 0; i < in.size(); ++i) out[i] = in[in.size() - 1 - i];
  });
}

absl::Status InteropService::WhoCalls(rpc::ServerContext& context, const Text& request,
                                      Text* response) {
  AnswerMetadata(context);
  response->set_text(
      absl::StrCat(context.transport_peer().address, "|", context.transport_peer().tls_subject));
  response->set_code(static_cast<int32_t>(context.peer().uid));
  return absl::OkStatus();
}

absl::Status InteropService::Count(rpc::ServerContext& context, const Text& request,
                                   rpc::ServerWriter<Text>* writer) {
  AnswerMetadata(context);
  ++streaming;
  absl::Status status = absl::OkStatus();
  for (int64_t i = 0; request.code() < 0 || i < request.code(); ++i) {
    Text message;
    message.set_text(absl::StrCat(request.text(), " ", i));
    rpc::Attachment attachment;
    if (!context.request_attachment().empty()) {
      attachment = rpc::Attachment::FromBytes(std::as_const(context.request_attachment()).data());
    }
    if (!writer->Write(message, std::move(attachment))) {
      status = absl::CancelledError("the caller stopped reading");
      break;
    }
  }
  if (request.code() < 0 && status.ok()) status = absl::CancelledError("unreachable");
  if (context.cancelled()) ++streams_saw_cancelled;
  --streaming;
  ++streams_ended;
  return status;
}

absl::Status InteropService::Join(rpc::ServerContext& context, rpc::ServerReader<Text>* reader,
                                  Text* response) {
  AnswerMetadata(context);
  std::string joined;
  std::string attachments;
  Text message;
  rpc::Attachment attachment;
  for (bool first = true; reader->Read(&message, &attachment); first = false) {
    if (message.code() != 0) {
      return absl::Status(static_cast<absl::StatusCode>(message.code()), message.text());
    }
    absl::StrAppend(&joined, first ? "" : ",", message.text());
    std::span<const std::byte> bytes = std::as_const(attachment).data();
    attachments.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  if (context.cancelled()) return absl::CancelledError("the caller gave up");
  response->set_text(joined);
  if (!attachments.empty()) {
    context.set_response_attachment(rpc::Attachment::FromBytes(
        std::as_bytes(std::span(attachments.data(), attachments.size()))));
  }
  return absl::OkStatus();
}

absl::Status InteropService::Chat(rpc::ServerContext& context,
                                  rpc::ServerReaderWriter<Text, Text>* stream) {
  AnswerMetadata(context);
  Text message;
  rpc::Attachment attachment;
  while (stream->Read(&message, &attachment)) {
    std::span<const std::byte> in = std::as_const(attachment).data();
    rpc::Attachment out;
    if (!in.empty()) {
      std::vector<std::byte> reversed(in.rbegin(), in.rend());
      out = rpc::Attachment::FromBytes(reversed);
    }
    if (!stream->Write(message, std::move(out))) {
      return absl::CancelledError("the caller stopped reading");
    }
  }
  return context.cancelled() ? absl::CancelledError("the caller gave up") : absl::OkStatus();
}

}  // namespace syslink::interop
