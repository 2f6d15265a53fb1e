// LinkSession: one link being served: its service, its caller, its replies in waiting.
//
// A session has no thread of its own. Whoever claims it (TryClaim) serves it (Serve) until
// its link is idle, then parks it with its SessionParking (the scheduler's epoll set, see
// session_scheduler.h); the next message makes some thread claim it again. Only the
// claiming thread touches the link, so the link's one-thread-at-a-time contract holds
// while the session moves between threads.
//
// With a worker pool, requests are copied out and run on the pool; a worker that finishes
// queues its reply (Deliver) and, if the session is parked, claims it and sends the reply
// itself, so no thread needs to wake for it.
//
// Streams (rpc/stream.h): a stream's opening request starts its method on a thread of its
// own (it waits for the client's messages and pulls, so it cannot hold the session's
// thread); the session hands the stream's later requests to its LinkServerStream, and the
// method's answers come back through Deliver() like a worker's. At most kMaxStreams are
// open on one link.
//
// Given up: a caller that gives up on a unary call running on the pool says so
// (kCallGivenUp); the session then runs the call's ServerContext::OnCancel() hook, if the
// caller's end of the link confirms it in shared memory (RequestWatch).
//
// Ending: the link closes (the caller died or closed its end), or Stop() was asked. Methods
// still running see ServerContext::cancelled() and their OnCancel() hooks run (a stream's
// Read() and Write() return false); the replies of those that return are sent before the link
// closes (a method that returns CANCELLED then answers UNAVAILABLE). The session then closes its
// link and tells its parking, which drops it. Drain() ends it more gently: new calls are refused
// with UNAVAILABLE, and the session ends once the calls in flight have answered.
//
// Thread safety: TryClaim(), Deliver() and Stop() from any thread; Serve() only by the
// thread whose TryClaim() succeeded. Ownership: shared by the scheduler and the pool jobs
// running its calls; the service must outlive it.

#ifndef SYSLINK_RPC_INTERNAL_LINK_SESSION_H_
#define SYSLINK_RPC_INTERNAL_LINK_SESSION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rpc/context.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/caller_pace.h"
#include "rpc/internal/link_server_stream.h"
#include "rpc/internal/worker_pool.h"
#include "rpc/service.h"
#include "syslink/link.h"

namespace syslink::rpc::internal {

class LinkSession;

// Where an idle session waits for its link to become readable.
class SessionParking {
 public:
  virtual ~SessionParking() = default;
  // Arms the session's descriptor (one shot: the first readiness claims it).
  virtual void Arm(const LinkSession& session) = 0;
  // Arms it to be claimed at once, by a thread that serves its waiting messages.
  virtual void ArmReady(const LinkSession& session) = 0;
  // The session is about to close its link: forget its descriptor.
  virtual void Disarm(const LinkSession& session) = 0;
  // The session ended and closed its link: drop it.
  virtual void Ended(const LinkSession& session) = 0;
};

class LinkSession : public std::enable_shared_from_this<LinkSession> {
 public:
  static constexpr size_t kMaxStreams = 128;

  // With `pool` null, methods run on the thread serving the session. `id` names the
  // session to `parking`, which must outlive it. `follow_caller`: the longest an idle
  // hybrid link spins to follow a steady caller (caller_pace.h).
  LinkSession(Service* service, Link link, PeerIdentity peer, WorkerPool* pool,
              SessionParking* parking, uint64_t id,
              absl::Duration follow_caller = absl::ZeroDuration());
  ~LinkSession();

  uint64_t id() const { return id_; }
  // The link's descriptor, while the session lives.
  int fd() const { return fd_; }

  // Makes the calling thread the one serving the session: false when another thread serves
  // it or it ended.
  [[nodiscard]] bool TryClaim();

  // Serves the claimed session until its link is idle (parks it) or it ends (ends it).
  // With `spin`, an idle link is first waited on as its wait mode says (spin for its spin
  // budget; a kSpin link keeps its thread until it ends); without, the session parks as
  // soon as nothing is waiting.
  void Serve(bool spin);

  // Asks the session to end; a parked session ends now, on this thread.
  void Stop();

  // Asks the session to end once nothing runs: from now on a new call (or stream) is
  // answered UNAVAILABLE, while calls and streams in flight go on and their replies are
  // sent. A parked session is handed to a serving thread (SessionParking::ArmReady), which
  // answers what waits in its ring and ends it once nothing runs; this thread serves none
  // of it. Stop() after it ends the rest.
  void Drain();
  // Drain()'s first half: refuses new calls from now on, ends nothing yet.
  void RefuseNewCalls() { draining_.store(true); }

 private:
  enum class State { kParked, kActive, kEnded };

  // A reply a worker finished, for the serving thread to send.
  struct ReadyReply {
    uint64_t id;
    absl::Status status;
    std::string response;
    Attachment attachment;
    uint16_t flags = 0;  // of the call header of an OK reply
    Metadata trailing;   // the method's trailing metadata, sent with the reply
  };

  // Parks the session, unless replies wait or it must end: then false, and the caller
  // goes on serving. `arm`: whether to wait for the link (not when only replies are due).
  bool TryPark(bool arm, bool ready = false);
  // Serves a session Deliver() claimed on a thread that must run none of its calls (a
  // worker, or a stream method's, which may hold a lock a call's method takes): sends the
  // replies, then parks it, armed to be claimed at once when messages wait.
  void ServeReplies();
  // The next message, spinning up to `spin_budget` for one unless a queued reply waits
  // (then DEADLINE_EXCEEDED, as when nothing came). Tells pace_ how long a call took to
  // come, or remembers when the wait began for the session about to park.
  absl::StatusOr<Message> ReceiveOrReply(absl::Duration spin_budget);
  // Ends the session: closes the link and tells the parking.
  void End();
  // No call runs and no reply waits.
  bool Idle();
  // Serves one message from the link.
  void Handle(Message& message);
  // A method's status for its caller: CANCELLED because the server stops (Stop()) becomes
  // UNAVAILABLE, which says another server may answer.
  absl::Status Answer(absl::Status status) const;
  void ServeInline(Message& request, IncomingCall& call);
  void Submit(Message& request, IncomingCall& call);
  // A stream's request: opens it, or hands it to its stream.
  void ServeStream(Message& request, IncomingCall& call);
  void OpenStream(Message& request, IncomingCall& call);
  // Closes a stream whose method is done (or never ran) and forgets it.
  void CloseStream(LinkServerStream& stream);
  // Runs the method of the stream OpenStream() registered on a thread of its own, which
  // sends its final reply; throws std::system_error when no thread can be started.
  void StartStreamThread(uint64_t id, uint32_t method, std::shared_ptr<std::string> bytes,
                         std::shared_ptr<ServerContext> context,
                         std::shared_ptr<LinkServerStream> stream);
  // Queues a reply for the serving thread (claiming the session if it is parked);
  // `job_done`: a job counted in in_flight_ ended with it.
  void Deliver(ReadyReply reply, bool job_done = true);
  // A pool job whose reply went with Deliver(job_done = false) is done: no longer in flight.
  void JobDone(uint64_t id);
  // A kCallGivenUp notice: runs the OnCancel() hook of the unary call it names, if that
  // still runs on the pool and its caller did give it up.
  void GivenUp(const Message& notice, const IncomingCall& call);
  // Tells every open stream, and every unary call running on the pool, that the session
  // is ending.
  void CancelCalls();
  void SendReadyReplies();
  // Sends an OK reply: the call header, the method's `trailing` metadata (when not null),
  // the response and its attachment. INVALID_ARGUMENT, unsent, when `trailing` breaks a
  // rule of metadata.h.
  absl::Status SendResponse(uint64_t id, const MessageSource& response, Attachment attachment,
                            uint16_t flags = 0, const Metadata* trailing = nullptr);
  // Answers `id` with the error `status` and the method's `trailing` metadata (or, when
  // that breaks a rule, with INVALID_ARGUMENT naming it). Fails quietly: the caller may be
  // gone.
  void ReplyError(uint64_t id, absl::Status status, const Metadata& trailing);
  // Gives `context` the caller's metadata from `call`. False, having answered the call,
  // when it does not decode (malformed), or when it names a method path that `request`'s
  // method id is not (UNIMPLEMENTED: ClientContext::set_send_method_path).
  bool TakeMetadata(const Message& request, const IncomingCall& call, ServerContext& context);
  // A context for a call served off the link's thread, whose cancelled() watches the caller
  // and stopping_.
  std::shared_ptr<ServerContext> NewSharedContext(const Message& request, const IncomingCall& call);
  // The ResponseWriter of a call served on the link's thread (link_session.cc).
  class InlineWriter;

  // Set by the constructor and never changed, but for link_: used only by the thread that
  // claimed the session (TryClaim()), one at a time; the claim passes under mutex_ (state_).
  Service* const service_;
  Link link_;
  const PeerIdentity peer_;
  WorkerPool* const pool_;
  SessionParking* const parking_;
  const uint64_t id_;
  const int fd_;  // link_'s descriptor, for any thread (the parking's)
  // Set by Stop(), and when the link closes: calls still running then see
  // ServerContext::cancelled().
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};  // set by Drain()

  absl::Mutex mutex_;
  State state_ ABSL_GUARDED_BY(mutex_) = State::kParked;
  int in_flight_ ABSL_GUARDED_BY(mutex_) = 0;  // pool jobs and streams not yet delivered
  std::deque<ReadyReply> replies_ ABSL_GUARDED_BY(mutex_);
  // The open streams, by stream id.
  absl::flat_hash_map<uint32_t, std::shared_ptr<LinkServerStream>> streams_ ABSL_GUARDED_BY(mutex_);
  bool streams_cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  // The unary calls running on the pool, by request id, for GivenUp() and CancelCalls().
  absl::flat_hash_map<uint64_t, std::weak_ptr<ServerContext>> pool_calls_ ABSL_GUARDED_BY(mutex_);
  // Set once a stream opened: replies may then be queued even without a pool.
  std::atomic<bool> queues_replies_{false};
  std::atomic<bool> replies_waiting_{false};  // replies_ is not empty (a hint)
  // Serving thread only: how long to spin for the next call, and when the wait that ended
  // in parking began (InfinitePast: not parked after a wait).
  CallerPace pace_;
  absl::Time parked_wait_began_ = absl::InfinitePast();
  std::atomic<bool> streaming_{false};  // streams_ is not empty (a hint)
  bool QueuesReplies() const {
    return pool_ != nullptr || queues_replies_.load(std::memory_order_relaxed);
  }

  // ServerContext::session_state() of the calls run inline; dropped when they end. Like
  // link_, used only by the thread that claimed the session.
  std::unique_ptr<SessionState> session_state_;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_LINK_SESSION_H_
