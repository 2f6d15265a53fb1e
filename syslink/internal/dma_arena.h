// DmaArena: which pages of an end's own DMA arena are in use.
//
//   DmaArena arena(4 << 20);
//   absl::StatusOr<uint64_t> offset = arena.Allocate(100 * 1024);  // 25 pages
//   arena.Free(*offset);
//
// Buffers are runs of whole pages, found first-fit. The bookkeeping lives in this process
// only: the peer can read and write the arena's bytes, but never what is allocated.
//
// Thread safety: not thread-safe; the owning end serializes access.
// Errors: RESOURCE_EXHAUSTED when no run of free pages is long enough;
// INVALID_ARGUMENT for a size of 0.

#ifndef SYSLINK_SYSLINK_INTERNAL_DMA_ARENA_H_
#define SYSLINK_SYSLINK_INTERNAL_DMA_ARENA_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"

namespace syslink::internal {

class DmaArena {
 public:
  explicit DmaArena(uint64_t size);

  // A page-aligned offset of at least `bytes` bytes (rounded up to whole pages).
  [[nodiscard]] absl::StatusOr<uint64_t> Allocate(uint64_t bytes);

  // Returns the buffer at `offset` (as returned by Allocate). False if there is none.
  bool Free(uint64_t offset);

  // Bytes of the buffer allocated at `offset`, or 0 if none starts there.
  uint64_t AllocatedAt(uint64_t offset) const;

  uint64_t size() const { return pages_.size() * kPage; }
  uint64_t free_bytes() const { return free_pages_ * kPage; }
  // True when nothing is allocated.
  bool whole() const { return free_pages_ == pages_.size(); }

 private:
  static constexpr uint64_t kPage = 4096;
  std::vector<bool> pages_;               // true: in use
  std::map<uint64_t, uint64_t> buffers_;  // first page -> pages
  uint64_t free_pages_;
};

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_DMA_ARENA_H_
