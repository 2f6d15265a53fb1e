// SessionScheduler: serves many links from a few threads.
//
//   SessionScheduler scheduler({.max_threads = 64});
//   scheduler.Add(&service, std::move(link), peer, /*pool=*/nullptr);  // until it closes
//   ...
//   scheduler.Stop();                                     // closes every link, joins
//
// A link that has nothing to do costs no thread: its session is parked in one epoll set
// (its link's descriptor, armed one-shot) and costs only its link's memory and
// descriptors. When a parked link becomes readable (a message, or its peer closed), one of
// the threads waiting on the epoll set claims the session and serves it (LinkSession::
// Serve) until the link is idle again, then parks it. A busy link therefore keeps the
// thread that serves it, spinning on its ring as its wait mode says, exactly as a thread
// of its own would: the hot path never passes through epoll.
//
// Threads: `min_pollers` threads wait on the epoll set at all times (while threads are
// allowed); when a thread leaves the set to serve a session and fewer than that are left,
// it starts another one, up to `max_threads` in all. A thread that finishes serving goes
// back to the set, or ends if `max_pollers` already wait there. So the thread count follows
// the number of links served at once (methods running, links spinning), not the number of
// links, and falls back when the load does.
//
// Sessions are found by id, never by a pointer kept in the epoll set: a session that ends
// is dropped from the scheduler (and freed, with its link) by the thread that ended it.
//
// Thread safety: all methods may be called from any thread. Stop() is idempotent; after it
// (or Drain()) Add() closes the session it is given.

#ifndef SYSLINK_RPC_INTERNAL_SESSION_SCHEDULER_H_
#define SYSLINK_RPC_INTERNAL_SESSION_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "rpc/internal/link_session.h"

namespace syslink::rpc::internal {

struct SchedulerOptions {
  int min_pollers = 1;
  int max_pollers = 2;
  int max_threads = 256;
  // Sessions served at once: Add() past it closes the link it is given.
  size_t max_sessions = SIZE_MAX;
  // The longest a link spins to follow a steady caller (caller_pace.h); zero: never.
  absl::Duration follow_caller = absl::ZeroDuration();
};

class SessionScheduler final : public SessionParking {
 public:
  explicit SessionScheduler(SchedulerOptions options);
  ~SessionScheduler() override;  // Stop()

  // Serves `link` with `service` from now on (methods on `pool` when it is not null; it
  // and the service must outlive the scheduler's Stop()). Closes `link` instead after
  // Stop() or Drain(), or when max_sessions are served.
  void Add(Service* service, Link link, PeerIdentity peer, WorkerPool* pool);

  // Stops every session (their running methods see ServerContext::cancelled(), their
  // replies are still sent), closes every link, and joins every thread. Returns once all
  // sessions ended, which waits for methods that are running to return: not to be called
  // from a method.
  void Stop();

  // Drains every session (LinkSession::Drain(): new calls are answered UNAVAILABLE, calls
  // and streams in flight go on) and waits until all have ended or `deadline` passes;
  // returns whether all ended. The serving threads answer what waits and end the sessions:
  // one that no thread reaches by then (all busy, at max_threads) is left to Stop(), which
  // still follows, to end what is left. Links added from now on are closed at once.
  bool Drain(absl::Time deadline);

  // Sessions whose links are open.
  size_t sessions() const;
  // Threads alive now (for tests and benchmarks).
  int threads() const;

  // SessionParking.
  void Arm(const LinkSession& session) override;
  void ArmReady(const LinkSession& session) override;
  void Disarm(const LinkSession& session) override;
  void Ended(const LinkSession& session) override;

 private:
  void Poll() ABSL_LOCKS_EXCLUDED(mutex_);
  // Starts a thread if fewer than min_pollers wait and the limit allows.
  void MaybeStartThread() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void JoinFinished() ABSL_LOCKS_EXCLUDED(mutex_);

  const SchedulerOptions options_;
  // Both set by the constructor and never changed (epoll_ctl and write need no lock).
  UniqueFd epoll_;
  UniqueFd wake_;  // an eventfd, readable once Stop() began

  mutable absl::Mutex mutex_;
  absl::CondVar changed_;  // sessions_ emptied, or threads_ reached 0
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<LinkSession>> sessions_ ABSL_GUARDED_BY(mutex_);
  // Threads in (or on their way into) epoll_wait.
  int pollers_ ABSL_GUARDED_BY(mutex_) = 0;
  int threads_ ABSL_GUARDED_BY(mutex_) = 0;  // threads started and not yet ended
  std::vector<std::thread> running_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> finished_ ABSL_GUARDED_BY(mutex_);  // ended threads, to join
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_SESSION_SCHEDULER_H_
