#include "syslink/link_options.h"

#include "absl/strings/str_format.h"
#include "ring/ring_format.h"

namespace syslink {

absl::Status ValidateLinkOptions(const LinkOptions& o) {
  constexpr uint64_t kMinRing = 4096;
  if (o.ring_capacity < kMinRing || o.ring_capacity > ring::kMaxRingCapacity ||
      (o.ring_capacity & (o.ring_capacity - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ring_capacity %d must be a power of two from %d to %d", o.ring_capacity,
                        kMinRing, ring::kMaxRingCapacity));
  }
  constexpr uint64_t kMaxArena = uint64_t{1} << 34;
  if (o.arena_size == 0 || o.arena_size % kDmaPageSize != 0 || o.arena_size > kMaxArena) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arena_size %d must be a non-zero multiple of %d, at most %d", o.arena_size,
                        kDmaPageSize, kMaxArena));
  }
  if (o.max_dma_size == 0 || o.max_dma_size > o.arena_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_dma_size %d must be between 1 and arena_size (%d)", o.max_dma_size, o.arena_size));
  }
  if (!ring::IsValidWaitMode(static_cast<uint32_t>(o.wait.mode))) {
    return absl::InvalidArgumentError("unknown wait mode");
  }
  return absl::OkStatus();
}

}  // namespace syslink
