// RingProducer: the writing side of a single-producer/single-consumer ring.
//
//   absl::StatusOr<RingProducer> producer = RingProducer::Attach(memory, options);
//   absl::StatusOr<std::byte*> space = producer->Reserve(max_size, deadline);
//   size_t n = SerializeInto(*space, max_size);
//   producer->Commit(n);          // the record is complete but not yet visible
//   producer->Publish();          // every committed record becomes visible at once
//
// Records are written in place in the ring. Commit() appends a record to the pending batch;
// Publish() makes the whole batch visible with one release store of the batch's first
// header and, unless the ring spins, wakes a consumer that announced it sleeps. A record
// that was reserved or committed but not published is never seen by the consumer, even if
// this process dies while writing it.
//
// Memory ordering: a record's payload and header are written with plain stores, except the
// header of the batch's first record: Publish() stores it last, with release, stamped as
// published. Later records of the batch are stamped at Commit(), but the consumer reads
// records in order and reaches them only through the first, whose acquire load makes every
// byte of the batch visible. Before that store, Publish() marks the header after the batch
// as not published, so the consumer never mistakes bytes of an older lap for a record; this
// is why a record needs room for itself plus one more header. `tail` is loaded with
// acquire, pairing with the consumer's release store after it finished reading: space before
// `tail` is safe to overwrite. The producer caches the consumer's `tail`, reloading it only
// when the cached value says the ring is full, and stores its own index to `head` for a
// producer that may take over, not for the consumer.
//
// Trust: the consumer is another process. A `tail` that moves backwards or past what was
// published breaks the ring (DATA_LOSS) instead of letting the producer overwrite unread
// records or write outside the ring.
//
// Thread safety: one thread at a time (single producer). Use from one process only.
// Ownership: does not own the ring memory, which must outlive the producer.
// Errors: INVALID_ARGUMENT for a record larger than max_payload_size();
// DEADLINE_EXCEEDED when Reserve() found no space in time; DATA_LOSS once the consumer
// broke the protocol (every later call returns the same status); FAILED_PRECONDITION from
// Attach() when the memory holds no compatible ring.

#ifndef SYSLINK_RING_RING_PRODUCER_H_
#define SYSLINK_RING_RING_PRODUCER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ring/internal/heavy_barrier.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"

namespace syslink::ring {

class RingProducer {
 public:
  // Attaches to the ring in `memory`, continuing after the last record published there (a
  // survivor or broker can take over the producer role of a process that died): from `head`,
  // past every record stamped as published after it.
  [[nodiscard]] static absl::StatusOr<RingProducer> Attach(std::span<std::byte> memory,
                                                           const WaitOptions& options);

  RingProducer(RingProducer&&) = default;
  RingProducer& operator=(RingProducer&&) = default;

  // The largest payload a single record may carry: the record space less its own header and
  // the next record's.
  size_t max_payload_size() const { return capacity_ - 2 * kRecordHeaderSize; }
  size_t capacity() const { return capacity_; }
  // How far the consumer had read when this producer last looked (a position that only
  // grows): a wait for space sees a slow consumer's progress here.
  uint64_t consumed() const { return cached_tail_; }

  // Space for a record of up to `max_payload` bytes, or nullptr when the ring has no room
  // now. The space stays reserved until Commit() or the next reservation.
  [[nodiscard]] absl::StatusOr<std::byte*> TryReserve(size_t max_payload) {
    if (std::byte* space = ReserveBeforeEnd(max_payload)) [[likely]] {
      return space;
    }
    return ReserveSlowly(max_payload);
  }

  // Like TryReserve(), but when the ring is full publishes what is pending and waits for
  // the consumer to make room, until `deadline`.
  [[nodiscard]] absl::StatusOr<std::byte*> Reserve(size_t max_payload, absl::Time deadline) {
    absl::StatusOr<std::byte*> space = TryReserve(max_payload);
    if (!space.ok() || *space != nullptr) return space;
    return WaitAndReserve(max_payload, deadline);
  }

  // Completes the reserved record with `payload_size` bytes (no more than reserved) and
  // appends it to the pending batch.
  void Commit(size_t payload_size) {
    uint64_t size = RecordSize(payload_size);
    if (size > reserved_) return BadCommit(payload_size);
    WriteHeader(static_cast<uint32_t>(payload_size));
    head_ += size;
    reserved_ = 0;
  }

  // Makes every committed record visible to the consumer and wakes it if it sleeps.
  void Publish() {
    if (head_ == published_) return;
    HeaderAt(records_, mask_, head_).store(HeaderWord(0, head_, false), std::memory_order_relaxed);
    HeaderAt(records_, mask_, published_).store(first_pending_, std::memory_order_release);
    control_->head.store(head_, std::memory_order_relaxed);
    published_ = head_;
    if (wait_.mode != WaitMode::kSpin) WakeConsumer();
  }

  // Reserve, copy, commit and publish one record.
  [[nodiscard]] absl::Status Write(std::span<const std::byte> payload, absl::Time deadline);

  // Waits until the consumer released everything published, or `deadline`.
  [[nodiscard]] absl::Status Drain(absl::Time deadline);

  // Called by Publish() when the consumer waits in a way the ring cannot wake
  // (kWaitingElsewhere), e.g. in poll() on a descriptor that the owner must signal.
  void set_external_wake(std::function<void()> wake) { external_wake_ = std::move(wake); }

  // OK, or why the ring is broken.
  const absl::Status& status() const { return status_; }

 private:
  RingProducer(RingControl* control, size_t capacity, const WaitOptions& wait);

  // The common case of TryReserve(): a healthy ring, and room for the record before the end
  // of the record space by the cached tail. nullptr otherwise, reserving nothing.
  std::byte* ReserveBeforeEnd(size_t max_payload) {
    uint64_t size = RecordSize(max_payload);
    uint64_t position = head_ & mask_;
    if (!status_.ok() || max_payload > max_payload_size() || size > capacity_ - position ||
        capacity_ - (head_ - cached_tail_) < size + kRecordHeaderSize) {
      return nullptr;
    }
    reserved_ = size;
    return records_ + position + kRecordHeaderSize;
  }
  // TryReserve() for everything else: a broken ring, a record too large, padding to the
  // end, or a tail to reload.
  absl::StatusOr<std::byte*> ReserveSlowly(size_t max_payload);

  // Room for `size` bytes and the header that follows them.
  bool HasRoom(uint64_t size) {
    if (capacity_ - (head_ - cached_tail_) >= size + kRecordHeaderSize) return true;
    return RefreshTail() && capacity_ - (head_ - cached_tail_) >= size + kRecordHeaderSize;
  }
  bool RefreshTail();
  absl::StatusOr<std::byte*> WaitAndReserve(size_t max_payload, absl::Time deadline);
  static constexpr uint64_t kPrefetchAhead = 8 * kCacheLineSize;
  // Stamps the record at head_ as published, unless it is the first of the batch: its
  // header waits in first_pending_ for Publish(), and the ring keeps the mark that says
  // nothing is published there.
  //
  // A batch of more than one record is a stream, so from its second record on this also
  // asks the CPU to own the line kPrefetchAhead bytes on: the consumer read it a lap ago,
  // and taking it back before the stores reach it lets several lines travel at once. A
  // record published on its own (a request or reply in a round trip) asks for nothing
  // more, so a round trip moves no line it does not need; nor does a line the consumer
  // has not released by the cached tail, which it may still be reading.
  void WriteHeader(uint32_t payload_size) {
    uint64_t header = HeaderWord(payload_size, head_, true);
    if (head_ == published_) {
      first_pending_ = header;
    } else {
      HeaderAt(records_, mask_, head_).store(header, std::memory_order_relaxed);
      if (head_ - cached_tail_ + kPrefetchAhead + kCacheLineSize <= capacity_) {
        __builtin_prefetch(records_ + ((head_ + kPrefetchAhead) & mask_), /*rw=*/1);
      }
    }
  }
  absl::StatusOr<std::byte*> CheckedNull() const;
  absl::Status TooLarge(size_t max_payload) const;
  void BadCommit(size_t payload_size);
  void WakeConsumer();
  void Break(absl::Status status);

  RingControl* control_;
  std::byte* records_;
  uint64_t capacity_;
  uint64_t mask_;
  WaitOptions wait_;
  internal::SleepBarriers barriers_;  // how this side fences its sleeps and wake-ups
  uint64_t head_ = 0;                 // end of the last committed record
  uint64_t published_ = 0;            // last value stored to control_->head
  uint64_t cached_tail_ = 0;          // last value loaded from control_->tail
  uint64_t reserved_ = 0;             // size of the reserved record, 0 if none
  uint64_t first_pending_ = 0;        // header of the record at published_, once committed
  absl::Status status_;
  std::function<void()> external_wake_;
};

}  // namespace syslink::ring

#endif  // SYSLINK_RING_RING_PRODUCER_H_
