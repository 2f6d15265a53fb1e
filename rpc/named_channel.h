// NamedChannel: a channel to a service found by name through the broker, that heals.
//
//   std::shared_ptr<syslink::rpc::NamedChannel> channel =
//       syslink::rpc::NamedChannel::Create("kv.Store");
//   kv::StoreStub stub(channel);
//   syslink::rpc::ClientContext context;
//   context.set_wait_for_ready(true);          // wait for a server still starting
//   context.set_timeout(absl::Seconds(5));
//   absl::StatusOr<kv::GetResponse> response = stub.Get(request, &context);
//
// The channel connects on its first call (not when it is made) and again whenever its link
// has closed: when the server's process dies or restarts, the calls outstanding on the old
// link fail with UNAVAILABLE and syslink's PEER_DIED payload, exactly once each (none is
// retried: it may have run), and a later call reaches whichever server took the name
// since. A call that finds no server fails with the broker's error (NOT_FOUND for a name
// nobody serves), or, with ClientContext::set_wait_for_ready(true), waits for one until
// the call's deadline: the broker holds the connect and makes the link the moment a server
// registers the name (BrokerConnectOptions::wait_for_registration), and TryCancel() ends
// the wait. A server that dies before it admits the link is waited for again, a few times.
// A call that waits holds up no other: callers that find no link each connect, and the
// first link made is kept.
// The wait is for a server, not for a broker: one that cannot be reached or started fails
// the call with UNAVAILABLE.
//
// Everything else is the LinkChannel's (link_channel.h): threads, streams, attachments.
// A call made on a link whose server just died, before the channel noticed, fails with
// PEER_DIED too; the call after it reconnects.
//
// Thread safety: thread-safe. Ownership: keeps the current LinkChannel, and those it
// replaced while async calls may still finish on them or someone else holds them (a
// stream keeps its own); the others go at the next reconnect.

#ifndef SYSLINK_RPC_NAMED_CHANNEL_H_
#define SYSLINK_RPC_NAMED_CHANNEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rpc/channel.h"
#include "rpc/link_channel.h"
#include "syslink/broker/client.h"

namespace syslink::rpc {

class NamedChannel final : public Channel {
 public:
  static std::shared_ptr<NamedChannel> Create(std::string service_name,
                                              broker::BrokerConnectOptions options = {},
                                              LinkChannelOptions channel_options = {});
  ~NamedChannel() override;

  absl::Status Call(const Method& method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, ClientContext* context) override;
  void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                 google::protobuf::MessageLite* response, ClientContext* context,
                 DoneCallback done) override;
  // Drains the current link's async calls (those of a link replaced were answered when it
  // closed).
  size_t Drain(absl::Time deadline) override;
  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) override;
  std::unique_ptr<ClientStream> OpenStream(const Method& method,
                                           const google::protobuf::MessageLite* request,
                                           google::protobuf::MessageLite* response,
                                           ClientContext* context) override;

  // The channel over the current link, connecting when there is none or it closed.
  // `context` says whether and until when to wait for the service (may be null).
  absl::StatusOr<std::shared_ptr<LinkChannel>> Current(ClientContext* context);

  const std::string& service_name() const { return service_name_; }

 private:
  NamedChannel(std::string service_name, broker::BrokerConnectOptions options,
               LinkChannelOptions channel_options);

  const std::string service_name_;
  const broker::BrokerConnectOptions options_;
  const LinkChannelOptions channel_options_;
  // A channel over a new link to the service, waiting for a server as `context` asks.
  absl::StatusOr<std::shared_ptr<LinkChannel>> Connect(ClientContext* context);

  absl::Mutex mutex_;  // not held while connecting
  std::shared_ptr<LinkChannel> current_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<LinkChannel>> retired_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_NAMED_CHANNEL_H_
