// RingConsumer: the reading side of a single-producer/single-consumer ring.
//
//   absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(memory, options);
//   absl::StatusOr<Record> record = consumer->Read(deadline);
//   Use(record->payload);         // read in place, in the ring
//   consumer->Release();          // hand the space of every record read back
//
// Records are read in place: a Record points into the ring and stays valid until Release().
// Several records may be read before one Release() returns all their space.
//
// Memory ordering: `head` is loaded with acquire, pairing with the producer's release store,
// so every byte of every record before it is visible. Release() stores `tail` with release
// after the reads of the records it covers, so the producer never overwrites a record still
// being read. The consumer keeps its own copy of `tail` and caches the producer's `head`,
// reloading it only when everything cached has been read.
//
// Trust: the producer is another process and may be hostile or half-dead. Each record
// header is copied out of shared memory once, then checked: a producer index behind the
// last one seen or more than `capacity` ahead of tail, a published end inside a record, a
// record length of zero, not a multiple of 8, running past the published end or the end of
// the record space, a payload length that does not match the record length, or padding that
// does not reach the end of the record space each break the ring. A broken ring returns
// DATA_LOSS with the reason from then on; nothing is read outside the ring. Payload bytes
// are the producer's to choose: the caller copies out and checks what it needs.
//
// Thread safety: one thread at a time (single consumer). Use from one process only.
// Ownership: does not own the ring memory, which must outlive the consumer.
// Errors: DEADLINE_EXCEEDED when Read() found no record in time; DATA_LOSS once broken;
// FAILED_PRECONDITION from Attach() when the memory holds no compatible ring.

#ifndef SYSLINK_RING_RING_CONSUMER_H_
#define SYSLINK_RING_RING_CONSUMER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"

namespace syslink::ring {

// A record read in place; valid until the consumer's next Release().
struct Record {
  std::span<const std::byte> payload;
};

class RingConsumer {
 public:
  // Attaches to the ring in `memory`, continuing from the index last released there.
  [[nodiscard]] static absl::StatusOr<RingConsumer> Attach(std::span<std::byte> memory,
                                                           const WaitOptions& options);

  RingConsumer(RingConsumer&&) = default;
  RingConsumer& operator=(RingConsumer&&) = default;

  size_t capacity() const { return capacity_; }

  // The next record, or std::nullopt when none is published.
  [[nodiscard]] absl::StatusOr<std::optional<Record>> TryRead() {
    Record record;
    if (TryNext(record)) return record;
    if (!status_.ok()) return status_;
    return std::nullopt;
  }

  // TryRead() for a hot path, with nothing to unwrap: true with the next record in
  // `record`; false when none is published or the ring is broken (status() tells).
  [[nodiscard]] bool TryNext(Record& record) {
    while (true) {
      if (!status_.ok()) [[unlikely]] {
        return false;
      }
      if (read_ == cached_head_ && !RefreshHead()) return false;
      if (NextRecord(record)) return true;
      // Padding was skipped, or the ring broke: look again.
    }
  }

  // Waits for the next record until `deadline`.
  [[nodiscard]] absl::StatusOr<Record> Read(absl::Time deadline) {
    absl::StatusOr<std::optional<Record>> record = TryRead();
    if (!record.ok()) return record.status();
    if (record->has_value()) return **record;
    return WaitAndRead(deadline);
  }

  // Returns the space of every record read so far to the producer, waking it if it sleeps
  // for want of space.
  void Release() {
    if (read_ == tail_) return;
    tail_ = read_;
    control_->tail.store(tail_, std::memory_order_release);
    if (wait_.mode != WaitMode::kSpin) WakeProducer();
  }

  // True when a record is published and not yet read (or the ring is broken: a read would
  // report it). Does not wait.
  [[nodiscard]] bool Ready() const {
    return !status_.ok() || read_ != cached_head_ ||
           control_->head.load(std::memory_order_acquire) != cached_head_;
  }

  // Prepares to wait for records outside the ring (e.g. in poll()): announces the wait
  // as kWaitingElsewhere so the producer calls its external wake. Returns false, without
  // announcing anything, when a record (or a broken ring) is already there.
  [[nodiscard]] bool PrepareExternalWait();
  // Withdraws a wait announced by PrepareExternalWait().
  void EndExternalWait();

  // OK, or why the ring is broken.
  const absl::Status& status() const { return status_; }

 private:
  RingConsumer(RingControl* control, size_t capacity, const WaitOptions& wait);

  // Loads `head` and checks it. False when nothing new is published or the ring broke.
  bool RefreshHead();
  absl::StatusOr<Record> WaitAndRead(absl::Time deadline);
  // Checks the record at `read_`, steps past it and sets `record`. False after padding or
  // on breakage.
  bool NextRecord(Record& record);
  void WakeProducer();
  void Break(absl::Status status);

  RingControl* control_;
  const std::byte* records_;
  uint64_t capacity_;
  uint64_t mask_;
  WaitOptions wait_;
  uint64_t tail_ = 0;         // last value stored to control_->tail
  uint64_t read_ = 0;         // end of the last record read
  uint64_t cached_head_ = 0;  // last checked value loaded from control_->head
  absl::Status status_;
};

}  // namespace syslink::ring

#endif  // SYSLINK_RING_RING_CONSUMER_H_
