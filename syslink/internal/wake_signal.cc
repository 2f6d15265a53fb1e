#include "syslink/internal/wake_signal.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "base/errno_status.h"
#include "syslink/link_waker.h"

namespace syslink {

void LinkWaker::Wake() const {
  if (signal_ != nullptr) signal_->Raise();
}

namespace internal {

absl::StatusOr<std::shared_ptr<WakeSignal>> WakeSignal::Create() {
  UniqueFd event(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event.valid()) return ErrnoStatus("eventfd for a link's waker");
  return std::make_shared<WakeSignal>(std::move(event));
}

void WakeSignal::Raise() {
  raised_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // A full counter (2^64 - 2) already wakes any poll.
  (void)!write(event_.get(), &one, sizeof(one));
}

bool WakeSignal::Take() {
  if (!raised_.load(std::memory_order_relaxed)) return false;
  if (!raised_.exchange(false, std::memory_order_acq_rel)) return false;
  Drain();
  return true;
}

void WakeSignal::Drain() {
  uint64_t count;
  (void)!read(event_.get(), &count, sizeof(count));  // one read empties an eventfd
}

}  // namespace internal
}  // namespace syslink
