// InProcessChannel: a Channel that calls a Service in this process, for tests.
//
//   MyServiceImpl service;
//   auto channel = std::make_shared<syslink::rpc::InProcessChannel>(&service);
//   my::MyServiceStub stub(channel);
//
// Requests and responses are serialized and parsed as they would be over a link, so a
// message that does not parse fails the same way; attachments move without a copy. The
// caller's identity is this process's. Async calls complete before CallAsync returns.
//
// Thread safety: as thread-safe as the service. Ownership: the service must outlive the
// channel.

#ifndef SYSLINK_RPC_IN_PROCESS_CHANNEL_H_
#define SYSLINK_RPC_IN_PROCESS_CHANNEL_H_

#include "rpc/channel.h"
#include "rpc/service.h"

namespace syslink::rpc {

class InProcessChannel final : public Channel {
 public:
  explicit InProcessChannel(Service* service) : service_(service) {}

  absl::Status Call(const Method& method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, ClientContext* context) override;
  void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                 google::protobuf::MessageLite* response, ClientContext* context,
                 DoneCallback done) override;
  size_t Drain(absl::Time) override { return 0; }
  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) override;

 private:
  Service* service_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_IN_PROCESS_CHANNEL_H_
