// How a ring's producer and consumer wait: for records, for space.
//
//   syslink::ring::WaitOptions options;          // hybrid, default spin budget
//   options.mode = syslink::ring::WaitMode::kSpin;
//
// Spin:     poll the other side's index; never a system call, one busy CPU per waiter.
// Blocking: sleep on a futex at once; each wake-up costs a cross-CPU scheduler hop.
// Hybrid:   spin for `spin_budget`, then sleep on a futex. The side that makes progress
//           issues FUTEX_WAKE only when the waiter has announced that it sleeps, so while
//           both sides stay busy no system call is made at all. Where membarrier(2) is
//           allowed, a waiter pays one for each sleep so that the side waking it need not
//           fence each time it makes progress (internal/heavy_barrier.h).
//
// The mode is part of the ring's protocol (a spinning producer never looks for a sleeping
// consumer), so it is fixed when the ring is created and both sides must use the same one.
// The spin budget is local to each side.

#ifndef SYSLINK_RING_WAIT_MODE_H_
#define SYSLINK_RING_WAIT_MODE_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace syslink::ring {

enum class WaitMode : uint32_t {
  kSpin = 1,
  kHybrid = 2,
  kBlocking = 3,
};

// The default time a hybrid waiter spins before it sleeps. On the 2-vCPU VM this project is
// measured on, waking a sleeper on the other vCPU costs about 50 us while a cache-line round
// trip costs about 0.15 us (ring_benchmark prints both). Spinning for about as long as a
// sleep/wake cycle costs bounds the waste of either choice to 2x the better one, and rides
// over the gap between two requests of a busy caller.
inline constexpr absl::Duration kDefaultSpinBudget = absl::Microseconds(50);

struct WaitOptions {
  WaitMode mode = WaitMode::kHybrid;
  // Time spent spinning before sleeping, in hybrid mode. Ignored otherwise.
  absl::Duration spin_budget = kDefaultSpinBudget;
  // Hybrid mode: this side goes to sleep behind membarrier(2) where the system allows it,
  // so that the side waking it need not fence each time it publishes or releases (docs/
  // ring.md). Each such sleep interrupts every CPU then running a thread of a process that
  // uses rings (13 us for the sleeper on a 2-vCPU VM with the other vCPU busy), after the
  // spin budget this side just spent spinning; false trades that for a fence per message
  // on the waking side. Local to this side: not sent to the peer.
  bool heavy_barriers = true;
};

// "spin", "hybrid" or "blocking".
absl::string_view WaitModeName(WaitMode mode);

// True for the three defined modes; used to check a mode read from shared memory.
bool IsValidWaitMode(uint32_t mode);

}  // namespace syslink::ring

#endif  // SYSLINK_RING_WAIT_MODE_H_
