// HandleTable: the file handles a FUSE mount hands the kernel (fuse_file_info::fh), each
// standing for one open handle of one connection to the server.
//
//   HandleTable handles;
//   fi->fh = handles.Add({server_fh, lease.epoch(), server_ino});
//   std::optional<HandleTable::Handle> handle = handles.Find(fi->fh);   // read, write, ...
//   std::optional<HandleTable::Handle> gone = handles.Remove(fi->fh);   // release
//
// A handle number means nothing to another server process, and the root's node stands for
// whichever server is current, so a handle carries its epoch (see NodeTable) itself: the
// bridge answers ESTALE for a handle of an older epoch and never hands it to the new
// server. Ids are never reused and are never 0.
//
// Thread safety: thread-safe (one mutex). Ownership: a value type.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_HANDLE_TABLE_H_
#define SYSLINK_EXAMPLES_FS_FUSE_HANDLE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace syslink::examples::fs {

class HandleTable {
 public:
  struct Handle {
    uint64_t fh = 0;     // the server's handle
    uint64_t epoch = 0;  // the connection that opened it
    uint64_t ino = 0;    // the server's inode it is a handle of
    // Who opened it: the writer a page-cache write from the kernel (which carries no
    // caller) is sent as.
    uint32_t opener_uid = 0;
    uint32_t opener_gid = 0;
    bool operator==(const Handle&) const = default;
  };

  // A new id for `handle`.
  [[nodiscard]] uint64_t Add(Handle handle);
  // What `id` stands for; nullopt when it is not held.
  [[nodiscard]] std::optional<Handle> Find(uint64_t id) const;
  // Forgets `id` and returns what it stood for; nullopt when it is not held.
  std::optional<Handle> Remove(uint64_t id);
  [[nodiscard]] size_t size() const;

 private:
  mutable absl::Mutex mutex_;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, Handle> by_id_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_HANDLE_TABLE_H_
