// WaitUntil(): the spin-then-sleep loop both sides of a ring use to wait.
//
// The consumer waits for records, the producer for space; both run this loop with their own
// readiness test and their own futex word (RingControl::consumer_waiting or
// producer_waiting).
//
// Sleeping follows a store-fence-load handshake with the side that makes progress:
//
//   waiter                                  progressing side
//   waiting.store(kWaitingOnFutex)          index.store(new value)      (release)
//   fence(seq_cst)                          fence(seq_cst)
//   if ready(): don't sleep                 if waiting.load() != 0: clear it, FUTEX_WAKE
//   FUTEX_WAIT(waiting, kWaitingOnFutex)
//
// The two sequentially consistent fences guarantee that at least one side sees the other's
// store: either the waiter sees the new index and does not sleep, or the progressing side
// sees the flag and wakes it. FUTEX_WAIT returns at once if the flag was cleared before the
// waiter got to sleep, so no wake-up is lost.
//
// In hybrid mode, where this process may, the waiter issues a heavy barrier
// (heavy_barrier.h) instead of its fence and says so in its *_sleep_barrier word; a
// progressing side in a registered process then replaces its fence by a compiler barrier.
// The waiter pays a system call each time it goes to sleep instead of the progressing side
// a fence each time it publishes or releases.

#ifndef SYSLINK_RING_INTERNAL_WAIT_LOOP_H_
#define SYSLINK_RING_INTERNAL_WAIT_LOOP_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ring/internal/cpu_relax.h"
#include "ring/internal/futex.h"
#include "ring/internal/heavy_barrier.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"

namespace syslink::ring::internal {

// Spins between two looks at the clock.
inline constexpr int kSpinsPerClockCheck = 64;

// Spins until ready(), for at most `budget` and never past `deadline`. Returns ready()'s
// last answer. The clock is first read after kSpinsPerClockCheck spins, so a wait that
// ends quickly (the common case on a busy link) costs no clock read at all.
template <typename Ready>
bool SpinUntil(Ready& ready, absl::Duration budget, absl::Time deadline) {
  absl::Time until = absl::InfiniteFuture();
  bool started = false;
  while (true) {
    for (int i = 0; i < kSpinsPerClockCheck; ++i) {
      if (ready()) return true;
      CpuRelax();
    }
    absl::Time now = absl::Now();
    if (!started) {
      until = std::min(deadline, now + budget);
      started = true;
    }
    if (now >= until) return ready();
  }
}

// The waiter's half of the handshake, between its announcement and its last look. A heavy
// barrier is a full barrier on this thread too.
inline void OrderSleep(const SleepBarriers& barriers) {
  if (barriers.heavy_sleeps) {
    HeavyBarrier();
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

// Announces sleep on `waiting` and sleeps until ready() or `deadline`. Returns ready().
template <typename Ready>
bool SleepUntil(Ready& ready, std::atomic<uint32_t>& waiting, const SleepBarriers& barriers,
                absl::Time deadline) {
  while (true) {
    waiting.store(kWaitingOnFutex, std::memory_order_relaxed);
    OrderSleep(barriers);
    if (ready()) break;
    FutexWaitResult result = FutexWait(&waiting, kWaitingOnFutex, deadline);
    if (ready()) break;
    if (result == FutexWaitResult::kTimedOut) break;
  }
  // Either the progressing side already cleared the flag, or nobody will: clear it so it
  // does not pay for a needless FUTEX_WAKE.
  waiting.store(kNotWaiting, std::memory_order_relaxed);
  return ready();
}

// Waits as `options` say until ready() or `deadline`. Returns ready()'s last answer.
template <typename Ready>
bool WaitUntil(Ready ready, std::atomic<uint32_t>& waiting, const SleepBarriers& barriers,
               const WaitOptions& options, absl::Time deadline) {
  if (ready()) return true;
  switch (options.mode) {
    case WaitMode::kSpin:
      return SpinUntil(ready, absl::InfiniteDuration(), deadline);
    case WaitMode::kHybrid:
      if (SpinUntil(ready, options.spin_budget, deadline)) return true;
      return SleepUntil(ready, waiting, barriers, deadline);
    case WaitMode::kBlocking:
      return SleepUntil(ready, waiting, barriers, deadline);
  }
  return ready();
}

// The progressing side's half of the handshake, after it stored its index: wakes a waiter
// that announced sleep on `waiting`, whose promise is `sleep_barrier` (on the same cache
// line). Returns the flag's value (kNotWaiting when nobody waited), so that a caller can
// wake a kWaitingElsewhere waiter its own way.
inline uint32_t WakeIfWaiting(std::atomic<uint32_t>& waiting,
                              const std::atomic<uint32_t>& sleep_barrier,
                              const SleepBarriers& barriers) {
  if (barriers.light_wakes && sleep_barrier.load(std::memory_order_relaxed) == kSleepBarrierHeavy) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  if (waiting.load(std::memory_order_relaxed) == kNotWaiting) return kNotWaiting;
  uint32_t was = waiting.exchange(kNotWaiting, std::memory_order_relaxed);
  if (was == kWaitingOnFutex) FutexWakeAll(&waiting);
  return was;
}

}  // namespace syslink::ring::internal

#endif  // SYSLINK_RING_INTERNAL_WAIT_LOOP_H_
