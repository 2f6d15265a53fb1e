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
// Memory ordering: the consumer loads the header at its read position with acquire; a
// header stamped as published there (RecordStamp of the index) pairs with the producer's
// release store, so every byte of the record, and of the records published with it, is
// visible. The producer's `head` is never read: the next header, in the same cache line as
// the payload's first bytes, says whether a record is there. Release() stores `tail` with
// release after the reads of the records it covers, so the producer never overwrites a record
// still being read.
//
// Trust: the producer is another process and may be hostile or half-dead. Each record
// header is loaded from shared memory once, then checked: a record whose length runs past
// the end of the record space, or past the space the producer may fill before the consumer
// releases more (the capacity past tail, less one header), breaks the ring. A broken ring
// returns DATA_LOSS with the reason from then on; nothing is read outside the ring. A header
// that is not stamped for its index is a record not yet published. Payload bytes are the
// producer's to choose: the caller copies out and checks what it needs.
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
#include "ring/internal/heavy_barrier.h"
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
      uint64_t header = HeaderAt(records_, mask_, read_).load(std::memory_order_acquire);
      if (!IsPublishedAt(header, read_)) return false;
      // The common case: a record (padding's size is larger than any ring) that fits.
      const uint64_t position = read_ & mask_;
      const uint64_t size = RecordSize(PayloadSizeOf(header));
      if (size <= capacity_ - position && read_ + size + kRecordHeaderSize - tail_ <= capacity_)
          [[likely]] {
        read_ += size;
        record.payload = {records_ + position + kRecordHeaderSize, PayloadSizeOf(header)};
        return true;
      }
      if (NextRecord(header, record)) return true;
      // Padding was skipped, or the ring broke: look again.
    }
  }

  // Waits for the next record until `deadline`.
  [[nodiscard]] absl::StatusOr<Record> Read(absl::Time deadline) {
    Record record;
    if (TryNext(record)) return record;
    if (!status_.ok()) return status_;
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
  //
  // Whoever waits for a record calls this in a loop, so it also asks the CPU for the cache
  // line after the next header's: a record that runs onto it (a 64-byte payload does) then
  // arrives in two transfers at once instead of one after the other. The hint changes no
  // result: the payload is read only after a header load saw the record published.
  [[nodiscard]] bool Ready() const {
    bool ready =
        !status_.ok() ||
        IsPublishedAt(HeaderAt(records_, mask_, read_).load(std::memory_order_acquire), read_);
    __builtin_prefetch(records_ + (((read_ | (kCacheLineSize - 1)) + 1) & mask_));
    return ready;
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

  absl::StatusOr<Record> WaitAndRead(absl::Time deadline);
  // TryNext()'s rest: checks the published record at `read_`, whose header word is
  // `header`, steps past it and sets `record`. False after padding or on breakage.
  bool NextRecord(uint64_t header, Record& record);
  void WakeProducer();
  void Break(absl::Status status);

  RingControl* control_;
  const std::byte* records_;
  uint64_t capacity_;
  uint64_t mask_;
  WaitOptions wait_;
  internal::SleepBarriers barriers_;  // how this side fences its sleeps and wake-ups
  uint64_t tail_ = 0;                 // last value stored to control_->tail
  uint64_t read_ = 0;                 // end of the last record read
  absl::Status status_;
};

}  // namespace syslink::ring

#endif  // SYSLINK_RING_RING_CONSUMER_H_
