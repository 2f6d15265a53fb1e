// Where each part of a link lives in its shared region.
//
//   offset 0                 ring written by end 0 (end 1 reads it)
//   ring_stride              ring written by end 1 (end 0 reads it)
//   2 * ring_stride          outstanding-request mirror of end 0 (mirror_format.h)
//   + kMirrorBytes           outstanding-request mirror of end 1
//   + kMirrorBytes           DMA arena of end 0
//   + arena_size             DMA arena of end 1
//
// Every part starts on a page boundary. Both ends compute the layout from the same
// LinkOptions, and the region's size is checked against it when an end maps the region.
// The rings and mirrors (the hot path) come first so that mapping can pre-fault exactly
// them (hot_bytes); arena pages fault in when a buffer first uses them.

#ifndef SYSLINK_SYSLINK_INTERNAL_LINK_LAYOUT_H_
#define SYSLINK_SYSLINK_INTERNAL_LINK_LAYOUT_H_

#include <cstddef>
#include <cstdint>

#include "syslink/link_options.h"
#include "syslink/mirror_format.h"

namespace syslink::internal {

struct LinkLayout {
  explicit LinkLayout(const LinkOptions& options);

  uint64_t ring_stride;  // bytes from one ring to the next, a whole number of pages
  uint64_t ring_bytes;   // RingFootprint(ring_capacity)
  uint64_t arena_size;
  uint64_t total_size;

  uint64_t RingOffset(int writer) const { return writer * ring_stride; }
  uint64_t MirrorOffset(int owner) const { return 2 * ring_stride + owner * kMirrorBytes; }
  uint64_t ArenaOffset(int owner) const { return hot_bytes() + owner * arena_size; }
  // The rings and mirrors: what every message touches.
  uint64_t hot_bytes() const { return 2 * ring_stride + 2 * kMirrorBytes; }
};

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_LINK_LAYOUT_H_
