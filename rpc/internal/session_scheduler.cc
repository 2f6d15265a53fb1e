#include "rpc/internal/session_scheduler.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace syslink::rpc::internal {
namespace {

// epoll data of the stop eventfd; sessions are numbered from 1.
constexpr uint64_t kWakeId = 0;

}  // namespace

SessionScheduler::SessionScheduler(SchedulerOptions options)
    : options_(options),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  struct epoll_event event = {};
  event.events = EPOLLIN;  // level-triggered and never read: wakes every thread once set
  event.data.u64 = kWakeId;
  (void)epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event);
}

SessionScheduler::~SessionScheduler() { Stop(); }

void SessionScheduler::Add(Service* service, Link link, PeerIdentity peer, WorkerPool* pool) {
  JoinFinished();
  std::shared_ptr<LinkSession> session;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ || draining_ || sessions_.size() >= options_.max_sessions) {
      return;  // `link` closes here
    }
    uint64_t id = next_id_++;
    session = std::make_shared<LinkSession>(service, std::move(link), peer, pool, this, id,
                                            options_.follow_caller);
    sessions_[id] = session;
    MaybeStartThread();
  }
  // Served once at once (the socket is writable), since messages may already wait in the
  // ring; it then parks, armed for reading.
  struct epoll_event event = {};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLONESHOT;
  event.data.u64 = session->id();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, session->fd(), &event) != 0) {
    session->Stop();  // cannot be watched (out of memory for epoll): the caller sees it close
  }
}

void SessionScheduler::Arm(const LinkSession& session) {
  struct epoll_event event = {};
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  event.data.u64 = session.id();
  (void)epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, session.fd(), &event);
}

void SessionScheduler::ArmReady(const LinkSession& session) {
  // The socket is writable: the event fires at once, for whichever thread waits first.
  struct epoll_event event = {};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLONESHOT;
  event.data.u64 = session.id();
  (void)epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, session.fd(), &event);
}

void SessionScheduler::Disarm(const LinkSession& session) {
  (void)epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, session.fd(), nullptr);
}

void SessionScheduler::Ended(const LinkSession& session) {
  absl::MutexLock lock(&mutex_);
  sessions_.erase(session.id());
  if (sessions_.empty()) changed_.SignalAll();
}

void SessionScheduler::MaybeStartThread() {
  if (stopping_ || pollers_ >= options_.min_pollers || threads_ >= options_.max_threads) return;
  ++threads_;
  ++pollers_;  // it starts by waiting on the epoll set
  try {
    running_.emplace_back([this] { Poll(); });
  } catch (const std::system_error&) {
    // Out of threads (RLIMIT_NPROC, a cgroup's pids): the threads there are serve on, and
    // a later need tries again.
    --threads_;
    --pollers_;
  }
}

void SessionScheduler::Poll() {
  while (true) {
    struct epoll_event event;
    int n = epoll_wait(epoll_.get(), &event, 1, -1);
    std::shared_ptr<LinkSession> session;
    {
      absl::MutexLock lock(&mutex_);
      --pollers_;
      if (n == 1 && event.data.u64 != kWakeId && !stopping_) {
        auto it = sessions_.find(event.data.u64);
        if (it != sessions_.end()) session = it->second;
      }
      // This thread may be busy for long: keep someone waiting for the other links.
      if (session != nullptr) MaybeStartThread();
    }
    if (session != nullptr && session->TryClaim()) session->Serve(/*spin=*/true);
    session.reset();
    absl::MutexLock lock(&mutex_);
    if (stopping_ || pollers_ >= options_.max_pollers) {
      // Enough threads wait: this one ends, and the next Add() or Stop() joins it.
      --threads_;
      auto self = std::find_if(running_.begin(), running_.end(), [](const std::thread& t) {
        return t.get_id() == std::this_thread::get_id();
      });
      finished_.push_back(std::move(*self));
      running_.erase(self);
      if (threads_ == 0) changed_.SignalAll();
      return;
    }
    ++pollers_;
  }
}

void SessionScheduler::JoinFinished() {
  std::vector<std::thread> finished;
  {
    absl::MutexLock lock(&mutex_);
    finished.swap(finished_);
  }
  for (std::thread& thread : finished) thread.join();
}

void SessionScheduler::Stop() {
  std::vector<std::shared_ptr<LinkSession>> sessions;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    for (auto& [id, session] : sessions_) sessions.push_back(session);
  }
  uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof(one)) < 0) {
    // Cannot fail: the eventfd is far from full.
  }
  // A parked session ends here; one being served ends on its thread once its method
  // returns; one whose calls run on pool workers ends with the last of them.
  for (std::shared_ptr<LinkSession>& session : sessions) session->Stop();
  sessions.clear();
  {
    absl::MutexLock lock(&mutex_);
    while (!sessions_.empty() || threads_ != 0) changed_.Wait(&mutex_);
  }
  JoinFinished();
}

bool SessionScheduler::Drain(absl::Time deadline) {
  std::vector<std::shared_ptr<LinkSession>> sessions;
  {
    absl::MutexLock lock(&mutex_);
    draining_ = true;
    for (auto& [id, session] : sessions_) sessions.push_back(session);
  }
  // Every link refuses new calls before any closes; then the serving threads answer what
  // waits in each ring and end each session once its last call has answered. This thread
  // serves none: a client that keeps calling cannot hold it past `deadline`.
  for (std::shared_ptr<LinkSession>& session : sessions) session->RefuseNewCalls();
  for (std::shared_ptr<LinkSession>& session : sessions) session->Drain();
  sessions.clear();
  absl::MutexLock lock(&mutex_);
  while (!sessions_.empty()) {
    if (changed_.WaitWithDeadline(&mutex_, deadline)) break;  // the deadline passed
  }
  return sessions_.empty();
}

size_t SessionScheduler::sessions() const {
  absl::MutexLock lock(&mutex_);
  return sessions_.size();
}

int SessionScheduler::threads() const {
  absl::MutexLock lock(&mutex_);
  return threads_;
}

}  // namespace syslink::rpc::internal
