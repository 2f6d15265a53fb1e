// ReturnedBuffers: buffers of an end that threads other than the end's own gave back,
// queued for the end's thread (Link::ReturnBuffersFromAnyThread).
//
// A DmaBuffer goes back to this end's arena and a PeerBuffer to the peer with a release
// record in the out ring: both touch state only the end's thread may touch. So when an end
// is shared under a lock (rpc::LinkChannel), a buffer destroyed elsewhere is only entered
// here, and the end's next call takes the entries. The first entry of an empty queue
// raises a WakeSignal, so that a thread asleep on the end (poll() on the link's descriptor
// and fd()) or waiting for arena room wakes to take it.
//
// Thread safety: Add() from any thread; Take() from the end's thread; waiting() and
// enabled() from any. Ownership: a member of the end's LinkCore.

#ifndef SYSLINK_SYSLINK_INTERNAL_RETURNED_BUFFERS_H_
#define SYSLINK_SYSLINK_INTERNAL_RETURNED_BUFFERS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "syslink/internal/wake_signal.h"

namespace syslink::internal {

class ReturnedBuffers {
 public:
  struct Entry {
    uint64_t offset = 0;
    uint64_t length = 0;  // of a peer's buffer; 0 for one of this end's arena
    bool peer = false;    // a PeerBuffer to release, not pages of this end's arena
  };

  // Turns queueing on (making the signal's eventfd). Called before any buffer of the end
  // reaches another thread; until then enabled() is false and Add() must not be called.
  absl::Status Enable();
  bool enabled() const { return signal_ != nullptr; }

  void Add(Entry entry);
  // Whether entries wait to be taken: one load, cheap enough for every call of the end.
  bool waiting() const { return waiting_.load(std::memory_order_relaxed); }
  // Every entry queued so far (in the order added); lowers the signal.
  std::vector<Entry> Take();

  // Raised while entries wait; null until Enable().
  WakeSignal* signal() const { return signal_.get(); }

 private:
  std::atomic<bool> waiting_{false};
  std::shared_ptr<WakeSignal> signal_;
  absl::Mutex mutex_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_RETURNED_BUFFERS_H_
