// InProcessChannel's unary calls; its streams are in_process_channel_stream.cc.

#include "rpc/in_process_channel.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rpc/internal/server_context_access.h"

namespace syslink::rpc {

absl::Status InProcessChannel::Call(const Method& method,
                                    const google::protobuf::MessageLite& request,
                                    google::protobuf::MessageLite* response,
                                    ClientContext* context) {
  if (context != nullptr && !context->metadata().empty()) {
    absl::Status bad = CheckMetadata(context->metadata(), "the call's metadata");
    if (!bad.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(method.path, ": ", bad.message()));
    }
  }
  std::string bytes = request.SerializeAsString();
  // The caller's TryCancel (from another thread) reaches the method as cancelled().
  ServerContext server_context({getpid(), getuid(), getgid()},
                               context ? context->deadline() : absl::InfiniteFuture());
  if (context != nullptr) {
    internal::ServerContextAccess::WatchCaller(server_context, RequestWatch(),
                                               &context->cancelled_);
    server_context.request_attachment() = std::move(context->request_attachment());
    internal::ServerContextAccess::SetClientMetadata(server_context, context->metadata());
  }
  ServerCall call(method.id, std::as_bytes(std::span(bytes.data(), bytes.size())), &server_context);
  // The caller's TryCancel runs the method's OnCancel() hook while it runs.
  if (context != nullptr) context->set_in_process_callee(&server_context);
  absl::Status status = DispatchCatching(*service_, call);
  if (context != nullptr) context->set_in_process_callee(nullptr);
  // No other thread to run it on: before the call returns.
  internal::ServerContextAccess::RunAfterReply(server_context);
  const Metadata& trailing = server_context.trailing_metadata();
  absl::Status bad = trailing.empty() ? absl::OkStatus()
                                      : CheckMetadata(trailing, "the method's trailing metadata");
  if (!bad.ok()) {
    status = std::move(bad);
  } else if (context != nullptr) {
    context->set_server_trailing_metadata(trailing);
  }
  if (context != nullptr) {
    context->request_attachment() = std::move(server_context.request_attachment());
    if (status.ok()) {
      context->response_attachment() = std::move(server_context.response_attachment());
    }
  }
  if (!status.ok()) return status;
  const std::string& out = call.response_bytes();
  if (!response->ParseFromString(out)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the response to %s (%d bytes) does not parse as %s", method.path,
                        out.size(), response->GetTypeName()));
  }
  return absl::OkStatus();
}

void InProcessChannel::CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                                 google::protobuf::MessageLite* response, ClientContext* context,
                                 DoneCallback done) {
  done(Call(method, request, response, context));
}

absl::StatusOr<Attachment> InProcessChannel::AllocateAttachment(size_t bytes) {
  Attachment attachment = Attachment::FromBytes({});
  attachment.resize(bytes);
  return attachment;
}

}  // namespace syslink::rpc
