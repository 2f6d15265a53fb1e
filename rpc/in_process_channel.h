// InProcessChannel: a Channel that calls a Service in this process, for tests.
//
//   MyServiceImpl service;
//   auto channel = std::make_shared<syslink::rpc::InProcessChannel>(&service);
//   my::MyServiceStub stub(channel);
//
// Requests and responses are serialized and parsed as they would be over a link, so a
// message that does not parse fails the same way; attachments move without a copy. The
// caller's identity is this process's. Metadata goes both ways, checked as over a link.
// Unary calls run the method on the caller's thread; async calls complete before
// CallAsync returns. The caller's TryCancel() from another thread runs the method's
// ServerContext::OnCancel() hook.
//
// Streams of every kind (rpc/stream.h) behave as over a link: the method runs on a thread
// of its own (it waits for the caller), each side keeps at most the stream window of
// messages in flight (a writer whose reader is slow waits in Write(), TryWrite() gets
// RESOURCE_EXHAUSTED), and WritesDone(), an early return, the deadline, TryCancel() and a
// stream destroyed before Finish() end it as they do there (rpc/internal/in_process_stream.h).
// The errors are a link's but for UNAVAILABLE, which nothing here gives: the service is
// in this process.
//
// Thread safety: as thread-safe as the service; a stream's threads as stream.h says.
// Ownership: the service must outlive the channel, and the channel its streams. Destroying
// the channel cancels any stream still open and waits until every streaming method has
// returned, so a method that heeds neither its stream nor cancelled() holds it up.

#ifndef SYSLINK_RPC_IN_PROCESS_CHANNEL_H_
#define SYSLINK_RPC_IN_PROCESS_CHANNEL_H_

#include <memory>

#include "rpc/channel.h"
#include "rpc/service.h"

namespace syslink::rpc {

struct InProcessChannelOptions {
  // Messages in flight each way on a stream, 1 to 1024, as LinkChannelOptions::stream_window;
  // a side's messages in flight beyond the first also stay within 1 MiB.
  int stream_window = 1024;
};

class InProcessChannel final : public Channel {
 public:
  explicit InProcessChannel(Service* service, InProcessChannelOptions options = {});
  ~InProcessChannel() override;

  absl::Status Call(const Method& method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, ClientContext* context) override;
  void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                 google::protobuf::MessageLite* response, ClientContext* context,
                 DoneCallback done) override;
  size_t Drain(absl::Time) override { return 0; }
  // Streams: INVALID_ARGUMENT for a unary `method` or metadata that breaks a rule.
  std::unique_ptr<ClientStream> OpenStream(const Method& method,
                                           const google::protobuf::MessageLite* request,
                                           google::protobuf::MessageLite* response,
                                           ClientContext* context) override;
  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) override;

 private:
  class Stream;   // a ClientStream (in_process_channel_stream.cc)
  class Streams;  // the open streams and the methods running

  Service* service_;
  const InProcessChannelOptions options_;
  // Shared with the streams' methods' threads, which may end just after the channel.
  const std::shared_ptr<Streams> streams_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_IN_PROCESS_CHANNEL_H_
