#include "ring/ring_consumer.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "ring/internal/wait_loop.h"
#include "ring/ring_control.h"

namespace syslink::ring {

absl::StatusOr<RingConsumer> RingConsumer::Attach(std::span<std::byte> memory,
                                                  const WaitOptions& options) {
  absl::StatusOr<RingControl*> control = CheckRingControl(memory, options.mode);
  if (!control.ok()) return control.status();
  RingConsumer consumer(*control, memory.size() - kRecordSpaceOffset, options);
  uint64_t tail = (*control)->tail.load(std::memory_order_acquire);
  if (tail % kRecordAlignment != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("ring consumer index %d is misaligned: not attaching", tail));
  }
  consumer.tail_ = consumer.read_ = consumer.cached_head_ = tail;
  return consumer;
}

RingConsumer::RingConsumer(RingControl* control, size_t capacity, const WaitOptions& wait)
    : control_(control),
      records_(reinterpret_cast<const std::byte*>(control) + kRecordSpaceOffset),
      capacity_(capacity),
      mask_(capacity - 1),
      wait_(wait) {}

bool RingConsumer::RefreshHead() {
  uint64_t head = control_->head.load(std::memory_order_acquire);
  if (head == cached_head_) return false;
  // head may only move forward, and never more than capacity past what we released.
  if (head - cached_head_ > tail_ + capacity_ - cached_head_) {
    Break(absl::DataLossError(absl::StrFormat(
        "ring producer index %d is invalid: it must lie in [%d, %d] (capacity %d past the "
        "released index %d)",
        head, cached_head_, tail_ + capacity_, capacity_, tail_)));
    return false;
  }
  cached_head_ = head;
  return true;
}

bool RingConsumer::NextRecord(Record& record) {
  uint64_t available = cached_head_ - read_;
  uint64_t position = read_ & mask_;
  uint64_t to_end = capacity_ - position;
  if (available < kRecordHeaderSize) {
    Break(absl::DataLossError(
        absl::StrFormat("ring producer published %d bytes at offset %d: less than a record header",
                        available, position)));
    return false;
  }
  // One copy: the producer may rewrite the header while we check it.
  RecordHeader header;
  std::memcpy(&header, records_ + position, sizeof(header));
  const uint64_t size = header.size;
  if (size == 0 || size % kRecordAlignment != 0) {
    Break(absl::DataLossError(absl::StrFormat(
        "ring record at offset %d has length %d: it must be a non-zero multiple of %d", position,
        size, kRecordAlignment)));
    return false;
  }
  if (size > available || size > to_end) {
    Break(absl::DataLossError(
        absl::StrFormat("ring record at offset %d has length %d, past the published end (%d bytes "
                        "available) or the end of the record space (%d bytes left)",
                        position, size, available, to_end)));
    return false;
  }
  if (header.payload_size == kPaddingPayloadSize) {
    if (size != to_end) {
      Break(absl::DataLossError(absl::StrFormat(
          "ring padding at offset %d has length %d but must reach the end (%d bytes)", position,
          size, to_end)));
      return false;
    }
    read_ += size;
    return false;
  }
  if (RecordSize(header.payload_size) != size) {
    Break(absl::DataLossError(absl::StrFormat(
        "ring record at offset %d has length %d but a payload of %d bytes, which needs %d",
        position, size, header.payload_size, RecordSize(header.payload_size))));
    return false;
  }
  read_ += size;
  record.payload = {records_ + position + kRecordHeaderSize, header.payload_size};
  return true;
}

absl::StatusOr<Record> RingConsumer::WaitAndRead(absl::Time deadline) {
  while (true) {
    if (!internal::WaitUntil([&] { return Ready(); }, control_->consumer_waiting, wait_,
                             deadline)) {
      return absl::DeadlineExceededError("no ring record arrived before the deadline");
    }
    absl::StatusOr<std::optional<Record>> record = TryRead();
    if (!record.ok()) return record.status();
    if (record->has_value()) return **record;
  }
}

bool RingConsumer::PrepareExternalWait() {
  control_->consumer_waiting.store(kWaitingElsewhere, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!Ready()) return true;
  EndExternalWait();
  return false;
}

void RingConsumer::EndExternalWait() {
  control_->consumer_waiting.store(kNotWaiting, std::memory_order_relaxed);
}

void RingConsumer::WakeProducer() { internal::WakeIfWaiting(control_->producer_waiting); }

void RingConsumer::Break(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

}  // namespace syslink::ring
