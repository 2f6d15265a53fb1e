// WakeSignal: what LinkWaker raises and a waiting end takes: a flag for an end that spins,
// and an eventfd for one asleep in ppoll() beside its socket.
//
// Thread safety: Raise() from any thread (async-signal-safe); the other members only from
// the end's thread. Ownership: shared by the end and its wakers.

#ifndef SYSLINK_SYSLINK_INTERNAL_WAKE_SIGNAL_H_
#define SYSLINK_SYSLINK_INTERNAL_WAKE_SIGNAL_H_

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace syslink::internal {

class WakeSignal {
 public:
  static absl::StatusOr<std::shared_ptr<WakeSignal>> Create();

  explicit WakeSignal(UniqueFd event) : event_(std::move(event)) {}

  // Sets the flag, then adds one to the eventfd (which wakes a ppoll()).
  void Raise();

  // Whether a wake-up waits to be taken: one load, for a spinning end.
  bool raised() const { return raised_.load(std::memory_order_acquire); }

  // Takes the wake-up, if one was raised: clears the flag and empties the eventfd.
  bool Take();

  // Empties the eventfd. A Raise() that set the flag before a Take() and wrote after it
  // leaves a count with no flag: a stale wake-up, which a sleeper drains and ignores.
  void Drain();

  int fd() const { return event_.get(); }

 private:
  std::atomic<bool> raised_{false};
  UniqueFd event_;
};

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_WAKE_SIGNAL_H_
