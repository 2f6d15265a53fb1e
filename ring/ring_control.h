// Creating a ring in shared memory, and checking one before attaching to it.
//
//   SharedRegion region = *SharedRegion::Create("ring", RingFootprint(64 << 10));
//   absl::Status s = InitializeRing(region.bytes(), WaitMode::kHybrid);
//   // ... then RingProducer::Attach / RingConsumer::Attach, here or in another process.
//
// A ring occupies RingFootprint(capacity) bytes: its control block, then `capacity` bytes of
// record space. The capacity is derived from the size of the memory handed in, which the
// caller knows from its own configuration; the copy in the control block is only compared
// against it, never trusted.
//
// Thread safety: InitializeRing must run before the memory is shared.
// Errors: INVALID_ARGUMENT for memory of a size that is not a ring footprint, or not
// cache-line aligned; FAILED_PRECONDITION when CheckRingControl finds no ring of the
// expected shape (wrong magic, version, capacity, wait mode or indexes).

#ifndef SYSLINK_RING_RING_CONTROL_H_
#define SYSLINK_RING_RING_CONTROL_H_

#include <cstddef>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"

namespace syslink::ring {

// The record space capacity of a ring held in `memory`, or INVALID_ARGUMENT when `memory`
// is not RingFootprint(c) bytes, c a power of two in [kMinRingCapacity, kMaxRingCapacity],
// starting on a cache line.
[[nodiscard]] absl::StatusOr<size_t> RingCapacityFor(std::span<std::byte> memory);

// Writes an empty ring into `memory`, whose size must be a ring footprint.
[[nodiscard]] absl::Status InitializeRing(std::span<std::byte> memory, WaitMode mode);

// Checks that `memory` holds a ring this process can attach to with `mode`, and returns its
// control block.
[[nodiscard]] absl::StatusOr<RingControl*> CheckRingControl(std::span<std::byte> memory,
                                                            WaitMode mode);

}  // namespace syslink::ring

#endif  // SYSLINK_RING_RING_CONTROL_H_
