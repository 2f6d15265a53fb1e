// Asymmetric fences for the sleep/wake handshake of a hybrid ring (wait_loop.h).
//
// A waker fences on every publish and release so that it cannot miss a waiter's
// announcement; that fence is most of what a hybrid round trip costs over a spinning one.
// membarrier(2) moves the cost to the waiter, which pays it only when it goes to sleep:
//
//   waiter (about to sleep)                 waker (made progress)
//   waiting.store(kWaitingOnFutex)          index.store(new value)      (release)
//   HeavyBarrier()                          compiler barrier only
//   if ready(): don't sleep                 if waiting.load() != 0: wake it
//
// HeavyBarrier() makes every running thread of every registered process execute a full
// barrier before it returns, so the waker's index store is either visible to the waiter's
// check, or ordered before the waker's load of `waiting`, which then sees the
// announcement. A waker may skip its fence only when its own process is registered
// (HeavyBarriersAvailable()) and the waiter said that it issues HeavyBarrier() before it
// sleeps (RingControl::consumer_sleep_barrier, producer_sleep_barrier).
//
// Thread safety: the functions below may be called from any thread.

#ifndef SYSLINK_RING_INTERNAL_HEAVY_BARRIER_H_
#define SYSLINK_RING_INTERNAL_HEAVY_BARRIER_H_

#include <atomic>
#include <cstdint>

#include "ring/wait_mode.h"

namespace syslink::ring::internal {

// How one side of a ring orders its handshakes, chosen when it attaches.
struct SleepBarriers {
  bool heavy_sleeps = false;  // issues HeavyBarrier() before it sleeps, and says so
  bool light_wakes = false;   // its process is registered: waking a side whose word says
                              // kSleepBarrierHeavy needs no fence
};

// For a side attaching with `options`: a hybrid side sleeps heavily when this process may
// and options.heavy_barriers allows. Publishes the choice in `own_word` (the side's
// *_sleep_barrier). A side that does not, taking over from one that did, first waits
// 10 ms, so that a waker's check that read the old promise is no longer in flight when
// this side first sleeps. Thread safety: as Attach().
SleepBarriers AttachSleepBarriers(const WaitOptions& options, std::atomic<uint32_t>& own_word);

// True when this process is registered for MEMBARRIER_CMD_GLOBAL_EXPEDITED: registers it
// on the first call (one system call; later calls read a flag). False when the kernel or a
// seccomp policy refuses, or after DisableHeavyBarriersForTesting().
bool HeavyBarriersAvailable();

// A full memory barrier on every running thread of every registered process, the calling
// thread included. Call only when HeavyBarriersAvailable().
void HeavyBarrier();

// Makes HeavyBarriersAvailable() false (or true again) from now on in this process, for
// tests of a side that cannot issue heavy barriers. Sides already attached keep what they
// chose.
void DisableHeavyBarriersForTesting(bool disabled);

}  // namespace syslink::ring::internal

#endif  // SYSLINK_RING_INTERNAL_HEAVY_BARRIER_H_
