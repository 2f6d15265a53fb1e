// LinkChannel: a Channel (channel.h) over a syslink link.
//
//   absl::StatusOr<Link> link = syslink::broker::ConnectToService("echo");
//   auto channel = std::make_shared<syslink::rpc::LinkChannel>(*std::move(link));
//   echo::EchoServiceStub stub(channel);
//
// Requests are serialized straight into the link's ring when they fit (a quarter of the
// ring) and spill into a DMA buffer when they do not; past the link's DMA limit a call
// fails with RESOURCE_EXHAUSTED naming the size and the limit. An attachment allocated with
// AllocateAttachment() is lent to the server without a copy and comes back in the
// context's request_attachment() when the call completes.
//
// A server that dies or closes the link completes every call outstanding with UNAVAILABLE
// carrying syslink's PEER_DIED payload (syslink::IsPeerDied); a call after that fails the
// same way at once. Nothing hangs on a dead server.
//
// Thread safety: thread-safe; calls from several threads are carried one at a time, and a
// thread waiting for its reply holds the channel (use one channel per thread for parallel
// calls). Async callbacks run on the thread that completes them (a later Call or Drain),
// never while the channel is held.

#ifndef SYSLINK_RPC_LINK_CHANNEL_H_
#define SYSLINK_RPC_LINK_CHANNEL_H_

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "rpc/channel.h"
#include "rpc/context.h"
#include "syslink/link.h"

namespace syslink::rpc {

class LinkChannel final : public Channel {
 public:
  explicit LinkChannel(Link link);
  // A link made by the broker, and who serves it (broker::OutgoingLink::server).
  LinkChannel(Link link, PeerIdentity server);
  ~LinkChannel() override;

  // Who serves this channel's link, as the kernel attested when the server registered its
  // service (SO_PEERCRED through the broker). Zero for a link not made by the broker.
  const PeerIdentity& server() const { return server_; }

  absl::Status Call(const Method& method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, ClientContext* context) override;
  void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                 google::protobuf::MessageLite* response, ClientContext* context,
                 DoneCallback done) override;
  size_t Drain(absl::Time deadline) override;
  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) override;

  // OK while the link is open; afterwards why it closed.
  absl::Status status() const;

 private:
  struct Pending {
    google::protobuf::MessageLite* response;
    ClientContext* context;
    DoneCallback done;
    bool lends_attachment;
    bool cancel_sent = false;
  };
  using Completions = std::vector<std::pair<DoneCallback, absl::Status>>;

  // Sends a request; the caller holds mutex_.
  absl::StatusOr<uint64_t> Start(uint32_t method_id, const google::protobuf::MessageLite& request,
                                 ClientContext* context, bool* lends_attachment);
  // Turns a reply into the call's outcome.
  static absl::Status Finish(Message& reply, google::protobuf::MessageLite* response,
                             ClientContext* context, bool lends_attachment);
  // Gives up on each async call whose context asked to cancel (TryCancel): the link then
  // delivers its CANCELLED reply. The caller holds mutex_.
  void CancelRequested();
  // Handles a message that is not the reply a sync call waits for.
  void HandleOther(Message& message, Completions& completions);
  static void Run(Completions& completions);

  const PeerIdentity server_;
  mutable std::mutex mutex_;
  Link link_;
  absl::flat_hash_map<uint64_t, Pending> pending_;
  size_t pending_with_context_ = 0;  // async calls in pending_ that have a context
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_LINK_CHANNEL_H_
