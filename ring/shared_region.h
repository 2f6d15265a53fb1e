// SharedRegion: a sealed memfd mapped into this process, the memory a ring lives in.
//
//   // Creator:
//   absl::StatusOr<SharedRegion> region = SharedRegion::Create("link", 1 << 20);
//   SendFd(socket, region->fd());
//   // Peer, after receiving the descriptor:
//   absl::StatusOr<SharedRegion> mine = SharedRegion::Map(std::move(received), 1 << 20);
//
// Create() makes a memfd of the given size, seals it against shrinking and growing and
// against further sealing (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), maps it shared,
// pre-faults it (MAP_POPULATE: no page faults on the hot path) and marks the mapping
// MADV_DONTFORK. `populate_bytes` limits pre-faulting to a prefix of the region
// (MADV_POPULATE_WRITE); the rest faults in on first use.
//
// Map() trusts nothing about the descriptor: before mapping it checks that the seals are
// all present (an unsealed file could be truncated under us, and touching the lost pages
// would raise SIGBUS) and that the size is exactly the one expected.
//
// Fork: because of MADV_DONTFORK a child created by fork() does not inherit the mapping.
// It may Map() the inherited descriptor afresh; an inherited SharedRegion object only
// closes its descriptor when destroyed in the child and never unmaps anything there.
//
// Thread safety: a SharedRegion is immutable after construction; its memory is shared and
// callers synchronize access to it themselves.
// Ownership: owns the descriptor and the mapping; both go when the object is destroyed.
// Errors: INVALID_ARGUMENT for a descriptor that is not sealed, not a memfd or of the
// wrong size, or a size of 0; RESOURCE_EXHAUSTED when memory or descriptors run out;
// other codes as mapped by ErrnoStatus.

#ifndef SYSLINK_RING_SHARED_REGION_H_
#define SYSLINK_RING_SHARED_REGION_H_

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace syslink::ring {

// The seals every shared region carries and Map() requires.
int RequiredSeals();

class SharedRegion {
 public:
  // Creates and maps a sealed memfd of `size` bytes. `name` shows in /proc/PID/fd.
  [[nodiscard]] static absl::StatusOr<SharedRegion> Create(const std::string& name, size_t size,
                                                           size_t populate_bytes = kAll);

  // Maps the region behind `fd` after checking its seals and that it holds exactly
  // `expected_size` bytes. Takes ownership of `fd` in every case.
  [[nodiscard]] static absl::StatusOr<SharedRegion> Map(UniqueFd fd, size_t expected_size,
                                                        size_t populate_bytes = kAll);

  // Pre-fault the whole region.
  static constexpr size_t kAll = ~size_t{0};

  SharedRegion(SharedRegion&& other) noexcept;
  SharedRegion& operator=(SharedRegion&& other) noexcept;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion();

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<std::byte> bytes() const { return {data_, size_}; }

  // The memfd, for passing to another process. Stays owned by this object.
  int fd() const { return fd_.get(); }

 private:
  SharedRegion(UniqueFd fd, std::byte* data, size_t size);
  void Unmap();

  UniqueFd fd_;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
  pid_t mapped_by_ = 0;  // the process whose address space holds the mapping
};

}  // namespace syslink::ring

#endif  // SYSLINK_RING_SHARED_REGION_H_
