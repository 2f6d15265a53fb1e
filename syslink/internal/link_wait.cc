// Waiting for inbound messages: spin as the wait mode says, then sleep in poll() on the
// link's socket. The peer wakes a sleeper by sending one byte on the socket (the ring's
// kWaitingElsewhere protocol), and the kernel wakes it with POLLHUP when the peer's end
// closes, so a sleeping end learns at once that its peer died. A Receive() on an end that
// has a LinkWaker also watches its WakeSignal: the flag while spinning, the eventfd asleep.
// An end that takes buffers back from any thread watches their queue's signal the same
// way: the peer may be waiting for those buffers.

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/time/clock.h"
#include "ring/internal/cpu_relax.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/internal/link_core.h"

namespace syslink::internal {
namespace {

// A spinning end looks at its socket this often, to notice a peer that died.
constexpr absl::Duration kSpinLivenessCheck = absl::Milliseconds(1);
constexpr int kSpinsPerClockCheck = 64;
// Reads of wake bytes (64 at a time) in one go at most: a peer sending them without end
// must not keep this end reading them.
constexpr int kWakeReadsPerDrain = 64;

}  // namespace

void LinkCore::WakePeer() {
  char byte = 'w';
  // A full socket buffer already holds a wake-up; a closed peer needs none.
  (void)send(socket_.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void LinkCore::DrainWakes() {
  // Bounded: a peer sending wake bytes as fast as they are read must not hold this end
  // here. Any left wake the next wait at once, which then looks at the ring and the clock.
  char bytes[64];
  for (int i = 0; i < kWakeReadsPerDrain; ++i) {
    if (recv(socket_.get(), bytes, sizeof(bytes), MSG_DONTWAIT) <= 0) return;
  }
}

bool LinkCore::PeerAlive() {
  if (!socket_.valid() || peer_gone_) return false;
  struct pollfd p = {socket_.get(), POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return true;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return false;
  char bytes[64];
  for (int i = 0; i < kWakeReadsPerDrain; ++i) {  // bounded, as in DrainWakes()
    ssize_t n = recv(socket_.get(), bytes, sizeof(bytes), MSG_DONTWAIT);
    if (n == 0) return false;  // orderly close
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  return true;  // still sending: alive
}

LinkCore::WaitOutcome LinkCore::WaitForInbound(absl::Time until, WakeSignal* wake) {
  if (in_.Ready()) return WaitOutcome::kReady;
  if (wake != nullptr && wake->raised()) return WaitOutcome::kWoken;
  if (returned_.waiting()) return WaitOutcome::kReturned;
  const ring::WaitMode mode = options_.wait.mode;
  if (mode != ring::WaitMode::kBlocking) {
    // Spin; the clock is first read after kSpinsPerClockCheck spins.
    absl::Time spin_until = absl::InfiniteFuture();
    absl::Time next_liveness_check = absl::InfiniteFuture();
    bool started = false;
    while (true) {
      for (int i = 0; i < kSpinsPerClockCheck; ++i) {
        if (in_.Ready()) return WaitOutcome::kReady;
        ring::internal::CpuRelax();
      }
      if (wake != nullptr && wake->raised()) return WaitOutcome::kWoken;
      if (returned_.waiting()) return WaitOutcome::kReturned;
      absl::Time now = absl::Now();
      last_cycles_ = CycleCount();
      if (!started) {
        started = true;
        spin_until = mode == ring::WaitMode::kSpin
                         ? until
                         : std::min(until, now + options_.wait.spin_budget);
        next_liveness_check = now + kSpinLivenessCheck;
      }
      if (now >= next_liveness_check) {
        if (!PeerAlive()) return WaitOutcome::kPeerGone;
        next_liveness_check = now + kSpinLivenessCheck;
      }
      if (now >= spin_until) break;
    }
    if (mode == ring::WaitMode::kSpin || absl::Now() >= until) {
      if (in_.Ready()) return WaitOutcome::kReady;
      return PeerAlive() ? WaitOutcome::kTimedOut : WaitOutcome::kPeerGone;
    }
  }
  return SleepOnSocket(until, wake);
}

LinkCore::WaitOutcome LinkCore::SleepOnSocket(absl::Time until, WakeSignal* wake) {
  while (true) {
    // Wake-ups left by earlier sleeps are read now, while this end has nothing to do,
    // rather than just after a wake-up, when a message waits for an answer.
    DrainWakes();
    if (!in_.PrepareExternalWait()) return WaitOutcome::kReady;
    WakeSignal* returned = returned_.signal();
    struct pollfd p[3] = {{socket_.get(), POLLIN, 0},
                          {wake ? wake->fd() : -1, POLLIN, 0},
                          {returned ? returned->fd() : -1, POLLIN, 0}};
    struct timespec timeout;
    struct timespec* timeout_ptr = nullptr;
    if (until != absl::InfiniteFuture()) {
      absl::Duration left = std::max(until - absl::Now(), absl::ZeroDuration());
      timeout = absl::ToTimespec(left);
      timeout_ptr = &timeout;
    }
    int n = ppoll(p, 3, timeout_ptr, nullptr);  // a negative descriptor is not watched
    last_cycles_ = CycleCount();
    in_.EndExternalWait();
    if (in_.Ready()) return WaitOutcome::kReady;  // its wake-up byte is read next time
    if (wake != nullptr) {
      if (wake->raised()) return WaitOutcome::kWoken;
      if (p[1].revents & POLLIN) wake->Drain();  // stale
    }
    if (returned_.waiting()) return WaitOutcome::kReturned;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !PeerAlive()) {
      return WaitOutcome::kPeerGone;
    }
    if (n == 0 || absl::Now() >= until) return WaitOutcome::kTimedOut;
    // A wake-up with nothing to read (a stale byte or count) or EINTR: sleep again.
  }
}

}  // namespace syslink::internal

namespace syslink::internal {

bool LinkCore::PrepareToPoll() {
  if (!OwnedByThisProcess()) return false;
  if (returned_.waiting()) FlushReleases();  // the peer may wait for those buffers
  if (!pending_.empty() || !status_.ok() || peer_gone_) return false;
  // Announced every time, even when armed already: a wait of another kind since (for ring
  // space or a buffer, on the socket) ends with the announcement withdrawn, and a look at
  // the peer's liveness may have taken the wake-up of a message that came meanwhile.
  if (!in_.PrepareExternalWait()) return false;
  poll_armed_ = true;
  return true;
}

}  // namespace syslink::internal
