#include "ring/internal/heavy_barrier.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ring/ring_format.h"

namespace syslink::ring::internal {
namespace {

long Membarrier(int command) { return syscall(__NR_membarrier, command, 0, 0); }

bool Register() {
  const long supported = Membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ||
      (supported & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0) {
    return false;
  }
  return Membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
}

std::atomic<bool> disabled_for_testing{false};

// Far longer than a waker's check takes from its load of the promise to its load of the
// waiting word, even with its stores still draining.
constexpr absl::Duration kWithdrawWait = absl::Milliseconds(10);

}  // namespace

SleepBarriers AttachSleepBarriers(const WaitOptions& options, std::atomic<uint32_t>& own_word) {
  SleepBarriers barriers;
  if (options.mode == WaitMode::kSpin) return barriers;  // it neither sleeps nor wakes
  barriers.light_wakes = HeavyBarriersAvailable();
  barriers.heavy_sleeps =
      options.mode == WaitMode::kHybrid && options.heavy_barriers && barriers.light_wakes;
  const uint32_t was = own_word.exchange(
      barriers.heavy_sleeps ? kSleepBarrierHeavy : kSleepBarrierFence, std::memory_order_seq_cst);
  if (was != kSleepBarrierFence && !barriers.heavy_sleeps) absl::SleepFor(kWithdrawWait);
  return barriers;
}

bool HeavyBarriersAvailable() {
  static const bool registered = Register();
  return registered && !disabled_for_testing.load(std::memory_order_relaxed);
}

void HeavyBarrier() { (void)Membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED); }

void DisableHeavyBarriersForTesting(bool disabled) {
  disabled_for_testing.store(disabled, std::memory_order_relaxed);
}

}  // namespace syslink::ring::internal
