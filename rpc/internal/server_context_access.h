// ServerContextAccess: what the server runtime (a link session, ServeGrpc, an
// InProcessChannel) sets on a ServerContext and reads back, which a method's code has no
// business touching: how to tell that the caller left, where the call came from, the
// caller's metadata, the trailing metadata to send, the attachment allocator, the link's
// session state and the after-reply work.
//
// Thread safety: as ServerContext: the call's own thread, except MarkCancelled(), which
// may be called from any thread. Ownership: borrows; every pointer given must outlive the
// call.

#ifndef SYSLINK_RPC_INTERNAL_SERVER_CONTEXT_ACCESS_H_
#define SYSLINK_RPC_INTERNAL_SERVER_CONTEXT_ACCESS_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "rpc/attachment.h"
#include "rpc/context.h"
#include "rpc/metadata.h"
#include "syslink/link.h"

namespace syslink::rpc::internal {

class ServerContextAccess {
 public:
  // `watch` tells whether the caller still waits (RequestWatch, syslink/link.h); `ending`,
  // when not null, is set once nobody will take the reply (the call's link is closing).
  static void WatchCaller(ServerContext& context, RequestWatch watch,
                          const std::atomic<bool>* ending) {
    context.watch_ = std::move(watch);
    context.ending_ = ending;
  }
  // Makes cancelled() true from now on, and runs the method's OnCancel() hook.
  static void MarkCancelled(ServerContext& context) { context.MarkCancelled(); }
  static void SetTransportPeer(ServerContext& context, const TransportPeer* peer) {
    context.transport_ = peer;
  }
  static void SetClientMetadata(ServerContext& context, Metadata metadata) {
    context.client_metadata_ = std::move(metadata);
  }
  // The trailing metadata the method added, moved out to be sent.
  static Metadata TakeTrailingMetadata(ServerContext& context) {
    return std::exchange(context.trailing_metadata_, {});
  }
  static void SetAllocator(ServerContext& context,
                           std::function<absl::StatusOr<Attachment>(size_t)> allocator) {
    context.allocator_ = std::move(allocator);
  }
  // Where session_state() lives; must outlive the call.
  static void SetSession(ServerContext& context, std::unique_ptr<SessionState>* session) {
    context.session_ = session;
  }
  // Runs the work set_after_reply() left, once.
  static void RunAfterReply(ServerContext& context) {
    if (context.after_reply_) std::exchange(context.after_reply_, nullptr)();
  }
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_SERVER_CONTEXT_ACCESS_H_
