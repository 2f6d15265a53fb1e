// MemTree: memfs's filesystem state: the inode table, the namespace, open handles and file
// data, with every operation of fs.proto in POSIX terms (errno results, permission checks
// against the caller). MemFs (memfs_service.h) puts it behind the RPC service.
//
//   MemTree tree;
//   Caller alice{.uid = 1000, .gid = 1000};
//   Entry entry;
//   if (int error = tree.MakeNode(alice, kRootIno, "notes", S_IFDIR | 0755, 0, "", &entry))
//     return error;  // e.g. EACCES: the root is 0755 and owned by root
//
// Inodes are numbered from kRootIno up and numbers are never reused. An inode is freed
// when it has no names, no lookups (Forget) and no open handles. Handles (files and
// directories share one numbering) are random numbers, never 0 (handle_numbers.h): a
// client cannot guess another's. Each handle keeps an `owner`, a number the service
// gives (MemFs: the client process it files the handle under, ClientProcesses::Join's
// answer), which Release and ReleaseDir answer.
//
// Thread safety: thread-safe. One lock guards everything; reads of data, attributes and
// directory listings share it, everything else holds it alone. Times are not updated on
// reads (as if mounted noatime), so reads never take it alone.
//
// Errors: each method returns 0 or an errno value, documented in fs.proto beside the rpc
// it serves; outputs are set only on 0. An unknown inode number is ENOENT.

#ifndef SYSLINK_EXAMPLES_FS_MEMFS_TREE_H_
#define SYSLINK_EXAMPLES_FS_MEMFS_TREE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "examples/fs/fs.pb.h"
#include "examples/fs/handle_numbers.h"
#include "examples/fs/memfs_inode.h"

namespace syslink::examples::fs {

struct MemTreeOptions {
  // Bytes of file data the filesystem holds at most (ENOSPC beyond), in whole blocks.
  uint64_t capacity_bytes = uint64_t{4} << 30;
  // Inodes at most, the root included (ENOSPC beyond).
  uint64_t max_inodes = uint64_t{1} << 20;
  // The largest file (EFBIG beyond).
  uint64_t max_file_size = uint64_t{1} << 40;
  // The owner of the root directory, and its permission bits.
  uid_t root_uid = 0;
  gid_t root_gid = 0;
  uint32_t root_mode = 0755;
};

class MemTree {
 public:
  explicit MemTree(const MemTreeOptions& options = {});
  MemTree(const MemTree&) = delete;
  MemTree& operator=(const MemTree&) = delete;

  void Statfs(StatfsResponse* out) const;

  // The namespace (memfs_tree.cc).
  [[nodiscard]] int Lookup(const Caller& caller, uint64_t parent, absl::string_view name,
                           Entry* out);
  void Forget(uint64_t ino, uint64_t nlookup);
  [[nodiscard]] int GetAttr(uint64_t ino, Attr* out) const;
  [[nodiscard]] int SetAttr(const Caller& caller, const SetAttrRequest& request, Attr* out);
  // Mkdir, Mknod and Symlink: `mode` holds the type; `target` is a symlink's.
  [[nodiscard]] int MakeNode(const Caller& caller, uint64_t parent, absl::string_view name,
                             uint32_t mode, uint64_t rdev, absl::string_view target, Entry* out);
  [[nodiscard]] int Link(const Caller& caller, uint64_t ino, uint64_t new_parent,
                         absl::string_view new_name, Entry* out);
  [[nodiscard]] int Unlink(const Caller& caller, uint64_t parent, absl::string_view name);
  [[nodiscard]] int Rmdir(const Caller& caller, uint64_t parent, absl::string_view name);
  [[nodiscard]] int Rename(const Caller& caller, uint64_t parent, absl::string_view name,
                           uint64_t new_parent, absl::string_view new_name, uint32_t flags);
  [[nodiscard]] int ReadLink(uint64_t ino, std::string* target) const;

  // Handles and data (memfs_files.cc). `flags` are open(2)'s; `owner` is the new handle's.
  [[nodiscard]] int Create(const Caller& caller, uint64_t parent, absl::string_view name,
                           uint32_t mode, uint32_t flags, uint64_t owner, Entry* entry,
                           uint64_t* fh);
  [[nodiscard]] int Open(const Caller& caller, uint64_t ino, uint32_t flags, uint64_t owner,
                         uint64_t* fh);
  // Fills `out` from `offset`; `*count` is how much (short at the end of the file).
  // `*generation`, when asked for, is the file's FileData::generation() as read.
  [[nodiscard]] int Read(uint64_t ino, uint64_t fh, int64_t offset, std::span<std::byte> out,
                         size_t* count, uint64_t* generation = nullptr) const;
  // Whether Read(ino, fh, ...) would be let read (0 or its errno), and the file's
  // generation now: a piece read before at the same generation is still the file's.
  [[nodiscard]] int DataGeneration(uint64_t ino, uint64_t fh, uint64_t* generation) const;
  [[nodiscard]] int Write(const Caller& caller, uint64_t ino, uint64_t fh, int64_t offset,
                          std::span<const std::byte> in);
  // Flush and Fsync: whether `fh` is a file handle of `ino`.
  [[nodiscard]] int CheckHandle(uint64_t ino, uint64_t fh) const;
  // The open(2) flags of file handle `fh` of `ino`: EBADF when there is none.
  [[nodiscard]] int HandleFlags(uint64_t ino, uint64_t fh, uint32_t* flags) const;
  // Closes file handle `fh` of `ino` (EBADF when there is none); `*owner`, when asked
  // for, is the handle's.
  [[nodiscard]] int Release(uint64_t ino, uint64_t fh, uint64_t* owner = nullptr);
  [[nodiscard]] int OpenDir(const Caller& caller, uint64_t ino, uint64_t owner, uint64_t* fh);
  // Packs entries from position `offset` into `out` (fs_format.h); `*used` bytes, `*count`
  // records.
  [[nodiscard]] int ReadDir(uint64_t ino, uint64_t fh, uint64_t offset, std::span<std::byte> out,
                            size_t* used, uint32_t* count) const;
  // As Release, for a directory handle.
  [[nodiscard]] int ReleaseDir(uint64_t ino, uint64_t fh, uint64_t* owner = nullptr);
  // ReadDir's entries with their Entries (fs.proto's ReadDirPlus), each a lookup more.
  [[nodiscard]] int ReadDirPlus(const Caller& caller, const ReadDirPlusRequest& request,
                                ReadDirPlusResponse* out);

  // Space and copies (memfs_space.cc), as fs.proto's Fallocate and CopyFileRange. Both
  // drop the target's privileges as a write by `caller` does (Inode::RemovePrivileges).
  [[nodiscard]] int Fallocate(const Caller& caller, const FallocateRequest& request);
  [[nodiscard]] int CopyFileRange(const Caller& caller, const CopyFileRangeRequest& request,
                                  uint64_t* copied);

  // Extended attributes (memfs_xattr.cc), as fs.proto's SetXattr, GetXattr, ListXattr and
  // RemoveXattr. An inode holds at most kMaxXattrBytes of names and values (ENOSPC).
  static constexpr size_t kMaxXattrBytes = 256 * 1024;
  [[nodiscard]] int SetXattr(const Caller& caller, const SetXattrRequest& request);
  [[nodiscard]] int GetXattr(const Caller& caller, const GetXattrRequest& request,
                             GetXattrResponse* out) const;
  [[nodiscard]] int ListXattr(const Caller& caller, const ListXattrRequest& request,
                              ListXattrResponse* out) const;
  [[nodiscard]] int RemoveXattr(const Caller& caller, const RemoveXattrRequest& request);

  // For tests and tools.
  size_t inode_count() const;
  size_t handle_count() const;
  uint64_t used_blocks() const;

 private:
  struct Handle {
    uint64_t ino = 0;
    uint32_t flags = 0;
    bool dir = false;
    uint64_t owner = 0;
  };

  Inode* Find(uint64_t ino) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // The directory `ino`: ENOENT, ENOTDIR.
  int FindDir(uint64_t ino, Inode** dir) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // The child `name` of `dir`, with "." and "..": ENOENT.
  Inode* Child(const Inode& dir, absl::string_view name) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // A directory `parent` to make `name` in: ENOENT, ENOTDIR, EACCES, ENAMETOOLONG, EINVAL,
  // EEXIST (the name exists), ENOSPC (no inode left).
  int PrepareCreate(const Caller& caller, uint64_t parent, absl::string_view name, Inode** dir)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // A new inode with the caller as owner (the group of a set-group-ID `parent`).
  Inode* NewInode(const Caller& caller, const Inode& parent, uint32_t mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Frees `inode` if nothing keeps it alive any more.
  void MaybeFree(Inode* inode) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void FillEntry(Inode* inode, Entry* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Whether `ancestor` is `dir` or above it.
  bool IsAncestor(const Inode& ancestor, const Inode& dir) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  int RenameChecks(const Caller& caller, Inode& from_dir, Inode& source, Inode& to_dir,
                   Inode* target, uint32_t flags) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  int SetAttrChecks(const Caller& caller, const Inode& inode, const SetAttrRequest& request) const
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // The handle `fh` of `ino`, of the kind asked for: EBADF.
  int FindHandle(uint64_t ino, uint64_t fh, bool dir, const Handle** handle) const
      ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // Opens `inode` (a regular file) with `flags` for `owner`, checking permission when
  // `check`.
  int OpenInode(const Caller& caller, Inode* inode, uint32_t flags, bool check, uint64_t owner,
                uint64_t* fh) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Removes handle `fh` of `ino` of the kind asked for (EBADF), freeing the inode if
  // nothing else keeps it.
  int RemoveHandle(uint64_t ino, uint64_t fh, bool dir, uint64_t* owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  uint64_t AddHandle(Handle handle) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const MemTreeOptions options_;  // set by the constructor
  // Guards everything below, and the inodes inodes_ owns. Private helpers expect it held:
  // shared, or alone when they change something. Under --config=tsan, ThreadSanitizer
  // cannot see this lock order the accesses: Debian's abseil is not built for it.
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Inode>> inodes_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_ino_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, Handle> handles_ ABSL_GUARDED_BY(mutex_);
  HandleNumbers handle_numbers_ ABSL_GUARDED_BY(mutex_);
  BlockPool pool_ ABSL_GUARDED_BY(mutex_);
};

// Checks a name for one path component: 0, ENAMETOOLONG (over 255 bytes), EINVAL (empty,
// or holding '/' or NUL).
[[nodiscard]] int CheckName(absl::string_view name);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_MEMFS_TREE_H_
