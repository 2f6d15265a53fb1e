#include "rpc/internal/channel_mutex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace syslink::rpc::internal {
namespace {

// A thread that finds the lock held looks at it this often before it sleeps: holders keep
// it for a few hundred nanoseconds, a sleep and its wake-up cost microseconds.
constexpr int kSpins = 100;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

void ChannelMutex::LockSlow() {
  for (int i = 0; i < kSpins; ++i) {
    CpuRelax();
    if (state_.load(std::memory_order_relaxed) == kFree && TryLock()) return;
  }
  // From here on the word says someone may sleep, so whoever holds it wakes one on Unlock().
  // Taking it so leaves kHeldWithSleepers: at worst one needless wake-up later.
  while (state_.exchange(kHeldWithSleepers, std::memory_order_acquire) != kFree) {
    // Returns at once (EAGAIN) if the word changed meanwhile; EINTR just looks again.
    syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, kHeldWithSleepers, nullptr, nullptr, 0);
  }
}

void ChannelMutex::WakeOne() {
  syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace syslink::rpc::internal
