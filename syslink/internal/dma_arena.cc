#include "syslink/internal/dma_arena.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace syslink::internal {

DmaArena::DmaArena(uint64_t size) : pages_(size / kPage, false), free_pages_(size / kPage) {}

absl::StatusOr<uint64_t> DmaArena::Allocate(uint64_t bytes) {
  if (bytes == 0) return absl::InvalidArgumentError("a DMA buffer of 0 bytes");
  if (bytes > size()) {  // also keeps the rounding below from overflowing
    return absl::ResourceExhaustedError(absl::StrFormat(
        "a DMA buffer of %d bytes is larger than the whole arena (%d bytes)", bytes, size()));
  }
  uint64_t want = (bytes + kPage - 1) / kPage;
  uint64_t run = 0;
  for (uint64_t page = 0; page < pages_.size(); ++page) {
    run = pages_[page] ? 0 : run + 1;
    if (run < want) continue;
    uint64_t first = page + 1 - want;
    for (uint64_t p = first; p <= page; ++p) pages_[p] = true;
    buffers_[first] = want;
    free_pages_ -= want;
    return first * kPage;
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "DMA arena exhausted: no run of %d free pages for a %d-byte buffer (%d of %d bytes "
      "free, possibly fragmented)",
      want, bytes, free_bytes(), size()));
}

bool DmaArena::Free(uint64_t offset) {
  if (offset % kPage != 0) return false;
  auto it = buffers_.find(offset / kPage);
  if (it == buffers_.end()) return false;
  for (uint64_t p = it->first; p < it->first + it->second; ++p) pages_[p] = false;
  free_pages_ += it->second;
  buffers_.erase(it);
  return true;
}

uint64_t DmaArena::AllocatedAt(uint64_t offset) const {
  if (offset % kPage != 0) return 0;
  auto it = buffers_.find(offset / kPage);
  return it == buffers_.end() ? 0 : it->second * kPage;
}

}  // namespace syslink::internal
