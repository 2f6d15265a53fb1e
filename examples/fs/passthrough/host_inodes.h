// HostInodes: the passthrough server's inode table. Each inode number it hands out stands
// for one host file, held open as an O_PATH descriptor, so the number keeps naming that
// file when it is renamed or unlinked on the host, and its host inode number cannot be
// reused while the table holds it.
//
//   HostInodes inodes(std::move(root_fd));          // the served directory is kRootIno
//   uint64_t ino = inodes.Add(std::move(path_fd), path_fd_stat);
//   std::shared_ptr<const HostInode> inode = inodes.Find(ino);   // null: ENOENT
//   fstatat(inode->fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
//   inodes.Forget(ino, 1);
//
// One host file has one number: inodes are keyed by (st_dev, st_ino), and Add() of a file
// the table holds counts one more lookup on the number it has. Numbers count up from
// kRootIno and are never reused, so an Entry's generation is always 1. An inode leaves
// the table when Forget() takes its last lookup; the root never does.
//
// Thread safety: thread-safe; one lock guards the maps, never held across a system call.
// Ownership: the table owns the descriptors; a HostInode from Find() keeps its descriptor
// open while the caller holds it, even if the inode is forgotten meanwhile.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_HOST_INODES_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_HOST_INODES_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/unique_fd.h"

namespace syslink::examples::fs {

struct HostInode {
  uint64_t ino = 0;  // the server's number
  dev_t dev = 0;     // the host's identity of the file
  ino_t host_ino = 0;
  mode_t type = 0;  // S_IFMT bits: a file's type never changes
  UniqueFd fd;      // O_PATH | O_NOFOLLOW

  bool is_dir() const { return type == S_IFDIR; }
};

class HostInodes {
 public:
  // `root` is an O_PATH descriptor of the served directory.
  explicit HostInodes(UniqueFd root);
  HostInodes(const HostInodes&) = delete;
  HostInodes& operator=(const HostInodes&) = delete;

  // The inode numbered `ino`, or null when the table does not hold it.
  std::shared_ptr<const HostInode> Find(uint64_t ino) const;
  std::shared_ptr<const HostInode> root() const { return root_; }

  // Counts one lookup on the host file `fd` (an O_PATH descriptor) names, whose stat is
  // `st`, and returns its number: a new one, or the one it has (and `fd` is closed).
  uint64_t Add(UniqueFd fd, const struct stat& st);

  // Takes `nlookup` lookups off `ino`, and drops it when none are left. Unknown numbers,
  // the root and counts beyond those held are ignored.
  void Forget(uint64_t ino, uint64_t nlookup);

  // The number of the host file (`dev`, `host_ino`) if the table holds it, else 0.
  uint64_t Known(dev_t dev, ino_t host_ino) const;

  // Inodes held, the root included.
  size_t size() const;

 private:
  struct Slot {
    std::shared_ptr<const HostInode> inode;
    uint64_t lookups = 0;
  };
  using HostKey = std::pair<dev_t, ino_t>;

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<uint64_t, Slot> by_ino_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<HostKey, uint64_t> by_host_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_ino_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<const HostInode> root_;  // set by the constructor, never changed
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_HOST_INODES_H_
