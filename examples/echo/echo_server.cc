#include "examples/echo/echo_server.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace syslink::examples::echo {
namespace {

// A response attachment of the request's size, filled by `copy(in, out)`.
template <typename Copy>
absl::Status AnswerAttachment(rpc::ServerContext& context, Copy copy) {
  std::span<const std::byte> in = context.request_attachment().data();
  absl::StatusOr<rpc::Attachment> out = context.AllocateAttachment(in.size());
  if (!out.ok()) return out.status();
  copy(in, out->data());
  context.set_response_attachment(*std::move(out));
  return absl::OkStatus();
}

}  // namespace

absl::Status EchoServer::Say(rpc::ServerContext&, const EchoRequest& request,
                             EchoResponse* response) {
  response->set_text(request.text());
  response->set_blob(request.blob());
  return absl::OkStatus();
}

absl::Status EchoServer::Reverse(rpc::ServerContext& context, const EchoRequest&,
                                 EchoResponse* response) {
  response->set_text(absl::StrFormat("reversed %d bytes", context.request_attachment().size()));
  return AnswerAttachment(context, [](std::span<const std::byte> in, std::span<std::byte> out) {
    std::reverse_copy(in.begin(), in.end(), out.begin());
  });
}

absl::Status EchoServer::Hold(rpc::ServerContext& context, const EchoRequest&, EchoResponse*) {
  // Polls: served on its link's own thread (a server without workers, as the examples
  // run it), a unary call whose caller gives up only sees a flag in shared memory, which
  // wakes nobody (ServerContext::OnCancel runs there for streams alone).
  while (!context.cancelled()) absl::SleepFor(absl::Milliseconds(5));
  return absl::DeadlineExceededError("held until the caller gave up");
}

absl::Status EchoServer::Bounce(rpc::ServerContext& context, const EchoRequest&, EchoResponse*) {
  return AnswerAttachment(context, [](std::span<const std::byte> in, std::span<std::byte> out) {
    if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
  });
}

}  // namespace syslink::examples::echo
