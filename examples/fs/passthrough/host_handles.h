// HostHandles: the passthrough server's open handles. A handle is a descriptor of a host
// file opened for a client (Open, Create: a regular file; OpenDir: a directory), under a
// random number, never 0, that no other client can guess (handle_numbers.h).
//
//   HostHandles handles;
//   uint64_t fh = handles.Add(ino, std::move(fd), O_RDWR, /*dir=*/false, client);
//   std::shared_ptr<HostHandle> handle = handles.Find(ino, fh, /*dir=*/false);  // null: EBADF
//   pread(handle->fd.get(), ...);
//   handles.Remove(ino, fh, /*dir=*/false);
//
// Thread safety: thread-safe; one lock guards the map, never held across a system call.
// Calls on one handle may run at once: pread and pwrite need no more; ReadDir holds the
// handle's dir_mutex, as it moves the descriptor's position. Ownership: the table owns
// the handles; one from Find() stays open while the caller holds it, even if removed
// meanwhile.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_HOST_HANDLES_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_HOST_HANDLES_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/unique_fd.h"
#include "examples/fs/handle_numbers.h"

namespace syslink::examples::fs {

struct HostHandle {
  uint64_t ino = 0;  // the inode it was opened on
  UniqueFd fd;
  uint32_t flags = 0;  // open(2)'s, as the client asked
  bool dir = false;
  uint64_t client = 0;  // who opened it: ClientProcesses::Join's answer
  // Directories: held across lseek and getdents64, which share the offset of `fd`. The
  // offset lives in the kernel, so no field is marked as guarded.
  absl::Mutex dir_mutex;

  bool readable() const;
  bool writable() const;
};

class HostHandles {
 public:
  HostHandles() = default;
  HostHandles(const HostHandles&) = delete;
  HostHandles& operator=(const HostHandles&) = delete;

  // Files `fd` under a new number, as opened by `client`.
  uint64_t Add(uint64_t ino, UniqueFd fd, uint32_t flags, bool dir, uint64_t client);
  // The handle `fh` if it is of `ino` and of the kind asked for; null otherwise (EBADF).
  std::shared_ptr<HostHandle> Find(uint64_t ino, uint64_t fh, bool dir) const;
  // Removes it as Find() would find it: false (EBADF) when there is none.
  [[nodiscard]] bool Remove(uint64_t ino, uint64_t fh, bool dir);

  size_t size() const;

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<HostHandle>> handles_ ABSL_GUARDED_BY(mutex_);
  HandleNumbers numbers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_HOST_HANDLES_H_
