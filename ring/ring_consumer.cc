#include "ring/ring_consumer.h"

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
  consumer.tail_ = consumer.read_ = tail;
  consumer.barriers_ = internal::AttachSleepBarriers(options, (*control)->consumer_sleep_barrier);
  return consumer;
}

RingConsumer::RingConsumer(RingControl* control, size_t capacity, const WaitOptions& wait)
    : control_(control),
      records_(reinterpret_cast<const std::byte*>(control) + kRecordSpaceOffset),
      capacity_(capacity),
      mask_(capacity - 1),
      wait_(wait) {}

bool RingConsumer::NextRecord(uint64_t header, Record& record) {
  const uint64_t position = read_ & mask_;
  const uint64_t to_end = capacity_ - position;
  const uint32_t payload_size = PayloadSizeOf(header);
  const bool padding = payload_size == kPaddingPayloadSize;
  const uint64_t size = RecordBytes(header, read_, capacity_);
  if (size > to_end) {
    Break(absl::DataLossError(absl::StrFormat(
        "ring record at offset %d has a payload of %d bytes, past the end of the record space "
        "(%d bytes left)",
        position, payload_size, to_end)));
    return false;
  }
  // The producer may fill at most the capacity past what was released, less the header it
  // marks after its last record.
  if (read_ + size + kRecordHeaderSize - tail_ > capacity_) {
    Break(absl::DataLossError(absl::StrFormat(
        "ring %s at offset %d (%d bytes) runs into space the consumer has not released (%d of "
        "%d bytes in use)",
        padding ? "padding" : "record", position, size, read_ - tail_, capacity_)));
    return false;
  }
  read_ += size;
  if (padding) return false;
  record.payload = {records_ + position + kRecordHeaderSize, payload_size};
  return true;
}

absl::StatusOr<Record> RingConsumer::WaitAndRead(absl::Time deadline) {
  while (true) {
    if (!internal::WaitUntil([&] { return Ready(); }, control_->consumer_waiting, barriers_, wait_,
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
  internal::OrderSleep(barriers_);
  if (!Ready()) return true;
  EndExternalWait();
  return false;
}

void RingConsumer::EndExternalWait() {
  control_->consumer_waiting.store(kNotWaiting, std::memory_order_relaxed);
}

void RingConsumer::WakeProducer() {
  internal::WakeIfWaiting(control_->producer_waiting, control_->producer_sleep_barrier, barriers_);
}

void RingConsumer::Break(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

}  // namespace syslink::ring
