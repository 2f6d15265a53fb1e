// Channel: what a generated client stub calls through.
//
//   absl::StatusOr<std::shared_ptr<syslink::rpc::Channel>> channel =
//       syslink::rpc::ConnectChannel("echo.EchoService");
//   if (!channel.ok()) return channel.status();
//   echo::EchoServiceStub stub(*channel);
//
// A channel moves one request to a server and one response back, addressed by the rpc's
// Method (method.h): its id, its path and its kind, each transport reading what it needs.
// Implementations: LinkChannel (over a syslink link, link_channel.h), InProcessChannel
// (calls a Service in this process, for tests; in_process_channel.h) and GrpcChannel (over
// gRPC, for servers on other machines; rpc/grpc/grpc_channel.h). Stubs know only this
// interface.
//
// Completion: every call completes exactly once: with the server's status, or with
// DEADLINE_EXCEEDED (the context's deadline), CANCELLED (TryCancel), UNAVAILABLE (the
// server's process died or closed the link: see docs/rpc.md), INVALID_ARGUMENT (a
// response that does not parse), RESOURCE_EXHAUSTED (a message too large to send, naming
// its size and the limit).
//
// Thread safety: implementations are thread-safe. Which threads carry calls at once and
// where async callbacks run is each implementation's to say (LinkChannel: many threads at
// once, callbacks on a completion thread; InProcessChannel: on the caller's thread).

#ifndef SYSLINK_RPC_CHANNEL_H_
#define SYSLINK_RPC_CHANNEL_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/method.h"
#include "rpc/stream.h"

namespace syslink::rpc {

using DoneCallback = std::function<void(absl::Status)>;

class Channel {
 public:
  virtual ~Channel() = default;

  // Calls `method` with `request`, filling `response`. `context` may be null. `method`
  // must outlive the call (generated code passes its static constants).
  [[nodiscard]] virtual absl::Status Call(const Method& method,
                                          const google::protobuf::MessageLite& request,
                                          google::protobuf::MessageLite* response,
                                          ClientContext* context) = 0;

  // Starts the call and returns. `done` runs exactly once, when it completes; `method`,
  // `response` and `context` must live until then.
  virtual void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                         google::protobuf::MessageLite* response, ClientContext* context,
                         DoneCallback done) = 0;

  // Completes async calls until none is outstanding or `deadline` passes. Returns how many
  // are still outstanding.
  virtual size_t Drain(absl::Time deadline) = 0;

  // Opens a stream of the streaming `method` (stream.h). `request`: the method's one
  // request for server streaming, null otherwise. `response`: for client streaming, where
  // Finish() puts the response; null otherwise. `context` may be null. `method`,
  // `response` and `context` must outlive the stream. Never null: a stream that cannot
  // open fails at every step with the reason. The default carries no streams.
  virtual std::unique_ptr<ClientStream> OpenStream(const Method& method,
                                                   const google::protobuf::MessageLite* request,
                                                   google::protobuf::MessageLite* response,
                                                   ClientContext* context) {
    (void)request, (void)response, (void)context;
    return std::make_unique<FailedClientStream>(absl::UnimplementedError(
        absl::StrCat(method.path, " streams; this channel carries no streams")));
  }

  // A buffer to attach to a request, zero-copy on this channel when it can be.
  [[nodiscard]] virtual absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) = 0;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_CHANNEL_H_
