#include "ring/ring_producer.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ring/internal/wait_loop.h"
#include "ring/ring_control.h"

namespace syslink::ring {

absl::StatusOr<RingProducer> RingProducer::Attach(std::span<std::byte> memory,
                                                  const WaitOptions& options) {
  absl::StatusOr<RingControl*> control = CheckRingControl(memory, options.mode);
  if (!control.ok()) return control.status();
  RingProducer producer(*control, memory.size() - kRecordSpaceOffset, options);
  uint64_t head = (*control)->head.load(std::memory_order_acquire);
  uint64_t tail = (*control)->tail.load(std::memory_order_acquire);
  if (head - tail > producer.capacity_ || head % kRecordAlignment != 0 ||
      tail % kRecordAlignment != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "ring indexes are inconsistent (head %d, tail %d, capacity %d): not attaching", head, tail,
        producer.capacity_));
  }
  // A producer that died may have published records after the head it last stored.
  while (true) {
    uint64_t header =
        HeaderAt(producer.records_, producer.mask_, head).load(std::memory_order_acquire);
    if (!IsPublishedAt(header, head)) break;
    uint64_t size = RecordBytes(header, head, producer.capacity_);
    if (size > producer.capacity_ - (head & producer.mask_) ||
        head + size + kRecordHeaderSize - tail > producer.capacity_) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "ring record published at index %d does not fit (%d bytes, tail %d, capacity %d): "
          "not attaching",
          head, size, tail, producer.capacity_));
    }
    head += size;
  }
  producer.head_ = producer.published_ = head;
  producer.cached_tail_ = tail;
  producer.barriers_ = internal::AttachSleepBarriers(options, (*control)->producer_sleep_barrier);
  return producer;
}

RingProducer::RingProducer(RingControl* control, size_t capacity, const WaitOptions& wait)
    : control_(control),
      records_(reinterpret_cast<std::byte*>(control) + kRecordSpaceOffset),
      capacity_(capacity),
      mask_(capacity - 1),
      wait_(wait) {}

bool RingProducer::RefreshTail() {
  uint64_t tail = control_->tail.load(std::memory_order_acquire);
  // The consumer may only move tail forward, and never past what was published.
  if (tail - cached_tail_ > published_ - cached_tail_ || tail % kRecordAlignment != 0) {
    Break(absl::DataLossError(
        absl::StrFormat("ring consumer index is invalid: tail %d is outside [%d, %d] or misaligned",
                        tail, cached_tail_, published_)));
    return false;
  }
  cached_tail_ = tail;
  return true;
}

absl::StatusOr<std::byte*> RingProducer::ReserveSlowly(size_t max_payload) {
  if (!status_.ok()) return status_;
  if (max_payload > max_payload_size()) return TooLarge(max_payload);
  uint64_t size = RecordSize(max_payload);
  uint64_t to_end = capacity_ - (head_ & mask_);
  if (size > to_end) {
    // The record would straddle the end: pad to the end and start again at 0.
    if (!HasRoom(to_end)) return CheckedNull();
    WriteHeader(kPaddingPayloadSize);
    head_ += to_end;
  }
  if (!HasRoom(size)) return CheckedNull();
  reserved_ = size;
  return records_ + (head_ & mask_) + kRecordHeaderSize;
}

absl::StatusOr<std::byte*> RingProducer::CheckedNull() const {
  if (!status_.ok()) return status_;
  return nullptr;
}

absl::Status RingProducer::TooLarge(size_t max_payload) const {
  return absl::InvalidArgumentError(absl::StrFormat(
      "a record of %d bytes does not fit in a ring of %d bytes (largest payload: %d)", max_payload,
      capacity_, max_payload_size()));
}

void RingProducer::BadCommit(size_t payload_size) {
  Break(absl::FailedPreconditionError(
      absl::StrFormat("Commit(%d) without a reservation that large (reserved record size %d)",
                      payload_size, reserved_)));
}

absl::StatusOr<std::byte*> RingProducer::WaitAndReserve(size_t max_payload, absl::Time deadline) {
  while (true) {
    // The consumer can only make room by reading what it can see.
    Publish();
    uint64_t size = RecordSize(max_payload);
    uint64_t to_end = capacity_ - (head_ & mask_);
    uint64_t next = size > to_end ? to_end : size;  // the padding first, when one is due
    bool ready = internal::WaitUntil([&] { return !status_.ok() || HasRoom(next); },
                                     control_->producer_waiting, barriers_, wait_, deadline);
    if (!ready) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "no room for a %d-byte record in the ring before the deadline", max_payload));
    }
    absl::StatusOr<std::byte*> space = TryReserve(max_payload);
    if (!space.ok() || *space != nullptr) return space;
  }
}

absl::Status RingProducer::Write(std::span<const std::byte> payload, absl::Time deadline) {
  std::byte* space = ReserveBeforeEnd(payload.size());
  if (space == nullptr) [[unlikely]] {
    absl::StatusOr<std::byte*> reserved = Reserve(payload.size(), deadline);
    if (!reserved.ok()) return reserved.status();
    space = *reserved;
  }
  if (!payload.empty()) std::memcpy(space, payload.data(), payload.size());
  Commit(payload.size());
  Publish();
  return status_;
}

absl::Status RingProducer::Drain(absl::Time deadline) {
  Publish();
  bool drained = internal::WaitUntil(
      [&] { return !status_.ok() || (RefreshTail() && cached_tail_ == published_); },
      control_->producer_waiting, barriers_, wait_, deadline);
  if (!status_.ok()) return status_;
  if (!drained) return absl::DeadlineExceededError("ring consumer did not drain in time");
  return absl::OkStatus();
}

void RingProducer::WakeConsumer() {
  if (internal::WakeIfWaiting(control_->consumer_waiting, control_->consumer_sleep_barrier,
                              barriers_) == kWaitingElsewhere &&
      external_wake_) {
    external_wake_();
  }
}

void RingProducer::Break(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

}  // namespace syslink::ring
