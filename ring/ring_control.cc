#include "ring/ring_control.h"

#include <cstdint>
#include <cstring>
#include <new>

#include "absl/strings/str_format.h"

namespace syslink::ring {
namespace {

bool IsPowerOfTwo(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

absl::StatusOr<size_t> RingCapacityFor(std::span<std::byte> memory) {
  if (reinterpret_cast<uintptr_t>(memory.data()) % kCacheLineSize != 0) {
    return absl::InvalidArgumentError("ring memory must start on a 64-byte cache line");
  }
  if (memory.size() < RingFootprint(kMinRingCapacity)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ring memory of %d bytes is too small: the smallest ring takes %d",
                        memory.size(), RingFootprint(kMinRingCapacity)));
  }
  size_t capacity = memory.size() - kRecordSpaceOffset;
  if (!IsPowerOfTwo(capacity) || capacity > kMaxRingCapacity) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ring memory of %d bytes leaves %d bytes of record space after the %d-byte control "
        "block; that must be a power of two no larger than %d",
        memory.size(), capacity, kRecordSpaceOffset, kMaxRingCapacity));
  }
  return capacity;
}

absl::Status InitializeRing(std::span<std::byte> memory, WaitMode mode) {
  absl::StatusOr<size_t> capacity = RingCapacityFor(memory);
  if (!capacity.ok()) return capacity.status();
  if (!IsValidWaitMode(static_cast<uint32_t>(mode))) {
    return absl::InvalidArgumentError("unknown wait mode");
  }
  std::memset(memory.data(), 0, kRecordSpaceOffset);
  auto* control = new (memory.data()) RingControl{};
  control->magic = kRingMagic;
  control->version = kRingVersion;
  control->capacity = *capacity;
  control->wait_mode = static_cast<uint32_t>(mode);
  control->head.store(0, std::memory_order_relaxed);
  control->tail.store(0, std::memory_order_relaxed);
  control->consumer_waiting.store(kNotWaiting, std::memory_order_relaxed);
  control->producer_waiting.store(kNotWaiting, std::memory_order_relaxed);
  control->consumer_sleep_barrier.store(kSleepBarrierFence, std::memory_order_relaxed);
  control->producer_sleep_barrier.store(kSleepBarrierFence, std::memory_order_relaxed);
  // Nothing is published at index 0, whatever the memory held before.
  HeaderAt(memory.data() + kRecordSpaceOffset, *capacity - 1, 0)
      .store(HeaderWord(0, 0, false), std::memory_order_relaxed);
  // The memory reaches the peer through a system call (sendmsg, fork), which orders these
  // stores before anything the peer does with it.
  return absl::OkStatus();
}

absl::StatusOr<RingControl*> CheckRingControl(std::span<std::byte> memory, WaitMode mode) {
  absl::StatusOr<size_t> capacity = RingCapacityFor(memory);
  if (!capacity.ok()) return capacity.status();
  auto* control = std::launder(reinterpret_cast<RingControl*>(memory.data()));
  // Copy the constant line once; the peer could change it while we look.
  uint32_t magic, version, wait_mode;
  uint64_t stored_capacity;
  std::memcpy(&magic, &control->magic, sizeof(magic));
  std::memcpy(&version, &control->version, sizeof(version));
  std::memcpy(&stored_capacity, &control->capacity, sizeof(stored_capacity));
  std::memcpy(&wait_mode, &control->wait_mode, sizeof(wait_mode));
  if (magic != kRingMagic) {
    return absl::FailedPreconditionError(
        absl::StrFormat("no ring here: magic is 0x%08x, expected 0x%08x", magic, kRingMagic));
  }
  if (version != kRingVersion) {
    return absl::FailedPreconditionError(
        absl::StrFormat("ring format version %d is not supported (this build speaks version %d)",
                        version, kRingVersion));
  }
  if (stored_capacity != *capacity) {
    return absl::FailedPreconditionError(
        absl::StrFormat("ring claims %d bytes of record space but its memory holds %d",
                        stored_capacity, *capacity));
  }
  if (wait_mode != static_cast<uint32_t>(mode)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "ring was created for %s waiting but this side uses %s; both sides must agree",
        IsValidWaitMode(wait_mode) ? WaitModeName(static_cast<WaitMode>(wait_mode))
                                   : "an unknown mode of",
        WaitModeName(mode)));
  }
  return control;
}

}  // namespace syslink::ring
