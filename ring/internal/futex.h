// Futex wait and wake on a 32-bit word in memory shared between processes.
//
// The words live in MAP_SHARED memory, so these use shared (not FUTEX_PRIVATE) futexes:
// the kernel keys them by the backing page, which both processes map.
//
// Thread safety: both functions may be called concurrently from any thread or process.
// Errors: none reported; a wait returns why it stopped, and a caller always re-checks the
// condition it waits for (wake-ups may be spurious).

#ifndef SYSLINK_RING_INTERNAL_FUTEX_H_
#define SYSLINK_RING_INTERNAL_FUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace syslink::ring::internal {

enum class FutexWaitResult {
  kWokenOrChanged,  // woken, or *word no longer held `expected` when the wait began
  kTimedOut,        // `deadline` passed
  kInterrupted,     // a signal arrived
};

// Sleeps while *word == expected, until woken or until `deadline` (absl::InfiniteFuture()
// for no limit).
FutexWaitResult FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
                          absl::Time deadline);

// Wakes every waiter sleeping on `word`. Returns how many were woken.
int FutexWakeAll(const std::atomic<uint32_t>* word);

}  // namespace syslink::ring::internal

#endif  // SYSLINK_RING_INTERNAL_FUTEX_H_
