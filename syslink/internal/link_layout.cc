#include "syslink/internal/link_layout.h"

#include "ring/ring_format.h"

namespace syslink::internal {
namespace {

uint64_t RoundUpToPage(uint64_t n) { return (n + kDmaPageSize - 1) / kDmaPageSize * kDmaPageSize; }

}  // namespace

LinkLayout::LinkLayout(const LinkOptions& options)
    : ring_stride(RoundUpToPage(ring::RingFootprint(options.ring_capacity))),
      ring_bytes(ring::RingFootprint(options.ring_capacity)),
      arena_size(options.arena_size),
      total_size(2 * ring_stride + 2 * options.arena_size + 2 * kMirrorBytes) {}

}  // namespace syslink::internal
