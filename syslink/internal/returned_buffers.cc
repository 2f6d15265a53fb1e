#include "syslink/internal/returned_buffers.h"

#include <utility>

namespace syslink::internal {

absl::Status ReturnedBuffers::Enable() {
  if (signal_ != nullptr) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<WakeSignal>> signal = WakeSignal::Create();
  if (!signal.ok()) return signal.status();
  signal_ = *std::move(signal);
  return absl::OkStatus();
}

void ReturnedBuffers::Add(Entry entry) {
  absl::MutexLock lock(&mutex_);
  entries_.push_back(entry);
  if (entries_.size() == 1) {
    // Raised under the lock, so a Take() cannot drain the eventfd between the flag and the
    // write and leave a count no flag stands for.
    waiting_.store(true, std::memory_order_relaxed);
    signal_->Raise();
  }
}

std::vector<ReturnedBuffers::Entry> ReturnedBuffers::Take() {
  std::vector<Entry> taken;
  absl::MutexLock lock(&mutex_);
  taken.swap(entries_);
  waiting_.store(false, std::memory_order_relaxed);
  signal_->Take();
  return taken;
}

}  // namespace syslink::internal
