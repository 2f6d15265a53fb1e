// MemTree's handles and data: Create, Open, Read, Write, Release and the directory
// handles. The namespace is in memfs_tree.cc.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "examples/fs/fs_format.h"
#include "examples/fs/memfs_tree.h"

namespace syslink::examples::fs {
namespace {

bool Readable(uint32_t flags) { return (flags & O_ACCMODE) != O_WRONLY; }
bool Writable(uint32_t flags) { return (flags & O_ACCMODE) != O_RDONLY; }

}  // namespace

int MemTree::FindHandle(uint64_t ino, uint64_t fh, bool dir, const Handle** handle) const {
  auto it = handles_.find(fh);
  if (it == handles_.end() || it->second.ino != ino || it->second.dir != dir) return EBADF;
  *handle = &it->second;
  return 0;
}

int MemTree::HandleFlags(uint64_t ino, uint64_t fh, uint32_t* flags) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Handle* handle;
  if (int error = FindHandle(ino, fh, /*dir=*/false, &handle); error != 0) return error;
  *flags = handle->flags;
  return 0;
}

uint64_t MemTree::AddHandle(Handle handle) {
  uint64_t fh;
  do {
    fh = handle_numbers_.Next();
  } while (handles_.contains(fh));
  handles_.emplace(fh, handle);
  return fh;
}

int MemTree::OpenInode(const Caller& caller, Inode* inode, uint32_t flags, bool check,
                       uint64_t owner, uint64_t* fh) {
  if (inode->is_dir()) return EISDIR;
  if (inode->is_symlink()) return ELOOP;
  if (!inode->is_regular()) return ENXIO;
  if ((flags & O_ACCMODE) == O_ACCMODE) return EINVAL;
  const int mask =
      (Readable(flags) ? kMayRead : 0) | (Writable(flags) || (flags & O_TRUNC) ? kMayWrite : 0);
  if (check && !MayAccess(*inode, caller, mask)) return EACCES;
  if (flags & O_TRUNC) {
    inode->data.Truncate(0, pool_);
    inode->mtime_ns = inode->ctime_ns = NowNanos();
    inode->RemovePrivileges(caller);  // as a truncate by this caller does
  }
  ++inode->open_handles;
  *fh = AddHandle({.ino = inode->ino, .flags = flags, .dir = false, .owner = owner});
  return 0;
}

int MemTree::Create(const Caller& caller, uint64_t parent, absl::string_view name, uint32_t mode,
                    uint32_t flags, uint64_t owner, Entry* entry, uint64_t* fh) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* dir;
  if (int error = FindDir(parent, &dir); error != 0) return error;
  if (int error = CheckName(name); error != 0) return error;
  if (!MayAccess(*dir, caller, kMayExec)) return EACCES;
  if (Inode* existing = Child(*dir, name); existing != nullptr) {
    if (flags & O_EXCL) return EEXIST;
    if (int error = OpenInode(caller, existing, flags, /*check=*/true, owner, fh); error != 0) {
      return error;
    }
    FillEntry(existing, entry);
    return 0;
  }
  if (!MayAccess(*dir, caller, kMayWrite | kMayExec)) return EACCES;
  if (dir->nlink == 0) return ENOENT;
  if (inodes_.size() >= options_.max_inodes) return ENOSPC;
  Inode* inode = NewInode(caller, *dir, S_IFREG | (mode & 07777));
  dir->AddEntry(std::string(name), inode->ino);
  dir->mtime_ns = dir->ctime_ns = inode->ctime_ns;
  // The creator may use the file as it asked, whatever `mode` says (as open(2) does).
  if (int error = OpenInode(caller, inode, flags & ~O_TRUNC, /*check=*/false, owner, fh);
      error != 0) {
    return error;  // not reached: a new regular file with a valid access mode opens
  }
  FillEntry(inode, entry);
  return 0;
}

int MemTree::Open(const Caller& caller, uint64_t ino, uint32_t flags, uint64_t owner,
                  uint64_t* fh) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* inode = Find(ino);
  if (inode == nullptr) return ENOENT;
  return OpenInode(caller, inode, flags, /*check=*/true, owner, fh);
}

int MemTree::Read(uint64_t ino, uint64_t fh, int64_t offset, std::span<std::byte> out,
                  size_t* count, uint64_t* generation) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Handle* handle;
  if (FindHandle(ino, fh, /*dir=*/false, &handle) != 0 || !Readable(handle->flags)) {
    return EBADF;
  }
  if (offset < 0) return EINVAL;
  const FileData& data = Find(ino)->data;  // a handle holds it
  *count = data.Read(static_cast<uint64_t>(offset), out);
  if (generation != nullptr) *generation = data.generation();
  return 0;
}

int MemTree::DataGeneration(uint64_t ino, uint64_t fh, uint64_t* generation) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Handle* handle;
  if (FindHandle(ino, fh, /*dir=*/false, &handle) != 0 || !Readable(handle->flags)) {
    return EBADF;
  }
  *generation = Find(ino)->data.generation();
  return 0;
}

int MemTree::Write(const Caller& caller, uint64_t ino, uint64_t fh, int64_t offset,
                   std::span<const std::byte> in) {
  absl::WriterMutexLock lock(&mutex_);
  const Handle* handle;
  if (FindHandle(ino, fh, /*dir=*/false, &handle) != 0 || !Writable(handle->flags)) {
    return EBADF;
  }
  if (offset < 0) return EINVAL;
  if (in.empty()) return 0;
  Inode* inode = Find(ino);
  const uint64_t at = (handle->flags & O_APPEND) ? inode->data.size() : offset;
  if (int error = inode->data.Write(at, in, pool_, options_.max_file_size); error != 0) {
    return error;
  }
  inode->mtime_ns = inode->ctime_ns = NowNanos();
  inode->RemovePrivileges(caller);
  return 0;
}

int MemTree::CheckHandle(uint64_t ino, uint64_t fh) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Handle* handle;
  return FindHandle(ino, fh, /*dir=*/false, &handle);
}

int MemTree::RemoveHandle(uint64_t ino, uint64_t fh, bool dir, uint64_t* owner) {
  const Handle* handle;
  if (int error = FindHandle(ino, fh, dir, &handle); error != 0) return error;
  if (owner != nullptr) *owner = handle->owner;
  handles_.erase(fh);
  Inode* inode = Find(ino);  // a handle holds it
  --inode->open_handles;
  MaybeFree(inode);
  return 0;
}

int MemTree::Release(uint64_t ino, uint64_t fh, uint64_t* owner) {
  absl::WriterMutexLock lock(&mutex_);
  return RemoveHandle(ino, fh, /*dir=*/false, owner);
}

int MemTree::OpenDir(const Caller& caller, uint64_t ino, uint64_t owner, uint64_t* fh) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* dir;
  if (int error = FindDir(ino, &dir); error != 0) return error;
  if (!MayAccess(*dir, caller, kMayRead)) return EACCES;
  ++dir->open_handles;
  *fh = AddHandle({.ino = ino, .flags = O_RDONLY, .dir = true, .owner = owner});
  return 0;
}

int MemTree::ReadDir(uint64_t ino, uint64_t fh, uint64_t offset, std::span<std::byte> out,
                     size_t* used, uint32_t* count) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Handle* handle;
  if (int error = FindHandle(ino, fh, /*dir=*/true, &handle); error != 0) return error;
  const Inode* dir = Find(ino);
  if (dir->nlink == 0) return ENOENT;  // removed while open, as getdents(2) answers
  *used = 0;
  *count = 0;
  bool full = false;
  auto emit = [&](uint64_t child, uint64_t next, uint32_t type, absl::string_view name) {
    full = !EncodeDirEntry(child, next, type, name, out, used);
    if (!full) ++*count;
    return !full;
  };
  // "." is position 0 and ".." position 1; a child at position p continues at p + 1.
  if (offset == 0 && !emit(dir->ino, 1, DT_DIR, ".")) return EINVAL;
  if (offset <= 1 && !emit(dir->parent, 2, DT_DIR, "..")) return *count == 0 ? EINVAL : 0;
  for (auto it = dir->by_cookie.lower_bound(std::max(offset, Inode::kFirstCookie));
       it != dir->by_cookie.end(); ++it) {
    const Inode* child = Find(dir->entries.find(it->second)->second.ino);
    if (!emit(child->ino, it->first + 1, IFTODT(child->mode), it->second)) break;
  }
  return full && *count == 0 ? EINVAL : 0;
}

int MemTree::ReadDirPlus(const Caller& caller, const ReadDirPlusRequest& request,
                         ReadDirPlusResponse* out) {
  absl::WriterMutexLock lock(&mutex_);  // lookups are counted
  const Handle* handle;
  if (int error = FindHandle(request.ino(), request.fh(), /*dir=*/true, &handle); error != 0) {
    return error;
  }
  Inode* dir = Find(request.ino());
  if (dir->nlink == 0) return ENOENT;  // removed while open: its parent may be gone too
  const bool search = MayAccess(*dir, caller, kMayExec);
  const size_t budget = std::min(request.size(), kMaxIoSize);
  size_t used = 0;
  // Adds one entry if it fits; a child's comes with its Entry when the caller may search.
  auto emit = [&](Inode* child, uint64_t next, absl::string_view name, bool dots)
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
                    const size_t cost = DirEntryPlusSize(name.size());
                    if (used + cost > budget) return false;
                    used += cost;
                    DirEntryPlus* entry = out->add_entries();
                    entry->set_name(std::string(name));
                    entry->set_ino(child->ino);
                    entry->set_next(next);
                    entry->set_type(IFTODT(child->mode));
                    if (!dots && search) FillEntry(child, entry->mutable_entry());
                    return true;
                  };
  const uint64_t offset = request.offset();
  if (offset == 0 && !emit(dir, 1, ".", true)) return EINVAL;
  if (offset <= 1 && !emit(Find(dir->parent), 2, "..", true)) {
    return out->entries_size() == 0 ? EINVAL : 0;
  }
  for (auto it = dir->by_cookie.lower_bound(std::max(offset, Inode::kFirstCookie));
       it != dir->by_cookie.end(); ++it) {
    Inode* child = Find(dir->entries.find(it->second)->second.ino);
    if (!emit(child, it->first + 1, it->second, false)) {
      return out->entries_size() == 0 ? EINVAL : 0;
    }
  }
  return 0;
}

int MemTree::ReleaseDir(uint64_t ino, uint64_t fh, uint64_t* owner) {
  absl::WriterMutexLock lock(&mutex_);
  return RemoveHandle(ino, fh, /*dir=*/true, owner);
}

}  // namespace syslink::examples::fs
