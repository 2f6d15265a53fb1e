#include "ring/internal/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "absl/time/clock.h"

namespace syslink::ring::internal {
namespace {

long Futex(const std::atomic<uint32_t>* word, int op, uint32_t value,
           const struct timespec* timeout, uint32_t bitset) {
  // The kernel reads the word; it never writes it for WAIT or WAKE.
  auto* address = const_cast<uint32_t*>(reinterpret_cast<const uint32_t*>(word));
  return syscall(SYS_futex, address, op, value, timeout, nullptr, bitset);
}

}  // namespace

FutexWaitResult FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
                          absl::Time deadline) {
  struct timespec absolute;
  const struct timespec* timeout = nullptr;
  if (deadline != absl::InfiniteFuture()) {
    if (deadline <= absl::Now()) return FutexWaitResult::kTimedOut;
    absolute = absl::ToTimespec(deadline);
    timeout = &absolute;
  }
  // FUTEX_WAIT_BITSET takes an absolute deadline; FUTEX_CLOCK_REALTIME matches absl::Now().
  long rc = Futex(word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, expected, timeout,
                  FUTEX_BITSET_MATCH_ANY);
  if (rc == 0) return FutexWaitResult::kWokenOrChanged;
  switch (errno) {
    case ETIMEDOUT:
      return FutexWaitResult::kTimedOut;
    case EINTR:
      return FutexWaitResult::kInterrupted;
    default:  // EAGAIN: the word had already changed.
      return FutexWaitResult::kWokenOrChanged;
  }
}

int FutexWakeAll(const std::atomic<uint32_t>* word) {
  long rc = Futex(word, FUTEX_WAKE, INT_MAX, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

}  // namespace syslink::ring::internal
