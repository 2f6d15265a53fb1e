// LinkSession: one link being served: its thread, its service, its queue of replies.
//
// Thread safety: Run() on the session's own thread; Deliver() from pool workers; Stop()
// from any thread.

#ifndef SYSLINK_RPC_INTERNAL_LINK_SESSION_H_
#define SYSLINK_RPC_INTERNAL_LINK_SESSION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "base/unique_fd.h"
#include "rpc/context.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/worker_pool.h"
#include "rpc/service.h"
#include "syslink/link.h"

namespace syslink::rpc {

class LinkSession {
 public:
  // With `pool` null, methods run on the session's thread.
  LinkSession(Service* service, Link link, PeerIdentity peer, WorkerPool* pool);
  ~LinkSession();  // stops and joins

  void Stop();
  bool done() const { return done_.load(); }

 private:
  // A reply a worker finished, for the session's thread to send.
  struct ReadyReply {
    uint64_t id;
    absl::Status status;
    std::string response;
    Attachment attachment;
  };

  void Run();
  void RunInline();
  void RunPooled();
  void ServeInline(Message& request);
  void Submit(Message& request);
  void Deliver(ReadyReply reply);
  void SendReadyReplies();
  // Sends an OK reply: the call header, the response and its attachment.
  absl::Status SendResponse(uint64_t id, const internal::MessageSource& response,
                            Attachment attachment);

  Service* service_;
  Link link_;
  PeerIdentity peer_;
  WorkerPool* pool_;
  // Set by Stop(), and when the link closes: calls still running then see
  // ServerContext::cancelled().
  std::atomic<bool> stopping_{false};
  std::atomic<bool> done_{false};
  std::atomic<int> in_flight_{0};  // jobs submitted to the pool and not yet delivered
  // Stop() shuts the link's socket down from outside, which ends any wait on it at once;
  // this guards the descriptor against being closed meanwhile.
  std::mutex socket_mutex_;
  int socket_;  // the link's socket, until the session closes the link
  bool closed_ = false;
  UniqueFd wake_;  // eventfd: a worker delivered a reply
  std::mutex replies_mutex_;
  std::deque<ReadyReply> replies_;
  // ServerContext::session_state() of the calls run inline; dropped when they end.
  std::unique_ptr<SessionState> session_state_;
  std::thread thread_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_INTERNAL_LINK_SESSION_H_
