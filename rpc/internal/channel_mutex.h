// ChannelMutex: the lock of a LinkChannel (rpc/link_channel.h), a word in memory that a
// free lock is taken and given back with one atomic instruction each, and that a thread
// which finds it held sleeps on with futex(2) after a short spin.
//
//   ChannelMutex mutex;
//   mutex.Lock();      // or: if (mutex.TryLock()) ...
//   ...
//   mutex.Unlock();
//
// Why not absl::Mutex: a call through a channel takes and gives back its lock two or three
// times, and absl::Mutex's fast paths cost about 55 instructions a pair where this one
// costs under ten (tools/count-instructions stub-client). What it gives up: no condition
// variables (the channel waits on its own wake-ups, outside the lock), no deadlock
// detection, no fairness (a thread that gives it back may take it again before a sleeper
// wakes: the channel lets its waiters in itself, LinkChannel::LetWaitersIn()). Clang's
// thread-safety analysis sees it as a lock.
//
// Errors: none. Lock() waits for as long as the lock is held.
//
// Thread safety: every member from any thread. Unlock() only by the thread that holds the
// lock. Not copyable or movable.

#ifndef SYSLINK_RPC_INTERNAL_CHANNEL_MUTEX_H_
#define SYSLINK_RPC_INTERNAL_CHANNEL_MUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"

namespace syslink::rpc::internal {

class ABSL_LOCKABLE ChannelMutex {
 public:
  ChannelMutex() = default;
  ChannelMutex(const ChannelMutex&) = delete;
  ChannelMutex& operator=(const ChannelMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (!TryLock()) LockSlow();
  }
  // Takes the lock if it is free; never waits.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    uint32_t free = kFree;
    return state_.compare_exchange_strong(free, kHeld, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (state_.exchange(kFree, std::memory_order_release) == kHeldWithSleepers) WakeOne();
  }

 private:
  static constexpr uint32_t kFree = 0;
  static constexpr uint32_t kHeld = 1;
  // Held, and a thread may sleep on the word: its Unlock() wakes one.
  static constexpr uint32_t kHeldWithSleepers = 2;

  // Lock() once the lock was found held. The analysis cannot follow a lock taken by
  // exchange().
  void LockSlow() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void WakeOne();

  std::atomic<uint32_t> state_{kFree};
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CHANNEL_MUTEX_H_
