#include "rpc/grpc/testing/interop_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace syslink::interop {

absl::Status InteropService::Echo(rpc::ServerContext& context, const Text& request,
                                  Text* response) {
  *response = request;
  return absl::OkStatus();
}

absl::Status InteropService::Fail(rpc::ServerContext& context, const Text& request,
                                  Text* response) {
  return absl::Status(static_cast<absl::StatusCode>(request.code()), request.text());
}

absl::Status InteropService::Hold(rpc::ServerContext& context, const Text& request,
                                  Text* response) {
  ++holding;
  if (on_hold) on_hold();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  // Polls: cancellation is a flag set from another thread, with nothing to wait on.
  while (!context.cancelled() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  const bool cancelled = context.cancelled();
  if (cancelled) ++saw_cancelled;
  if (on_hold_end) on_hold_end(cancelled);
  --holding;
  return absl::CancelledError(cancelled ? "the caller gave up" : "held for 30 s");
}

absl::Status InteropService::Reverse(rpc::ServerContext& context, const Text& request,
                                     Text* response) {
  std::span<const std::byte> in = std::as_const(context.request_attachment()).data();
  absl::StatusOr<rpc::Attachment> out = context.AllocateAttachment(in.size());
  if (!out.ok()) return out.status();
  for (size_t i = 0; i < in.size(); ++i) out->data()[i] = in[in.size() - 1 - i];
  context.set_response_attachment(*std::move(out));
  response->set_text(absl::StrCat("reversed ", in.size()));
  return absl::OkStatus();
}

absl::Status InteropService::WhoCalls(rpc::ServerContext& context, const Text& request,
                                      Text* response) {
  response->set_text(
      absl::StrCat(context.transport_peer().address, "|", context.transport_peer().tls_subject));
  response->set_code(static_cast<int32_t>(context.peer().uid));
  return absl::OkStatus();
}

}  // namespace syslink::interop
