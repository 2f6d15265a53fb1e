// MemTree's namespace: the inode table, names, attributes. Handles and data are in
// memfs_files.cc.

#include "examples/fs/memfs_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "examples/fs/fs_format.h"

namespace syslink::examples::fs {
namespace {

bool IsDots(absl::string_view name) { return name == "." || name == ".."; }

void Touch(Inode& inode, int64_t now) { inode.mtime_ns = inode.ctime_ns = now; }

}  // namespace

int CheckName(absl::string_view name) {
  if (name.size() > kMaxNameLength) return ENAMETOOLONG;
  if (name.empty() || name.find_first_of(absl::string_view("/\0", 2)) != name.npos) {
    return EINVAL;
  }
  return 0;
}

MemTree::MemTree(const MemTreeOptions& options)
    : options_(options),
      next_ino_(kRootIno + 1),
      pool_(options.capacity_bytes / FileData::kBlockSize) {
  auto root = std::make_unique<Inode>();
  root->ino = kRootIno;
  root->mode = S_IFDIR | (options.root_mode & 07777);
  root->nlink = 2;
  root->uid = options.root_uid;
  root->gid = options.root_gid;
  root->parent = kRootIno;
  root->atime_ns = root->mtime_ns = root->ctime_ns = NowNanos();
  inodes_.emplace(kRootIno, std::move(root));
}

void MemTree::Statfs(StatfsResponse* out) const {
  constexpr uint32_t kStatfsBlock = 4096;
  constexpr uint64_t kPerDataBlock = FileData::kBlockSize / kStatfsBlock;
  absl::ReaderMutexLock lock(&mutex_);
  out->set_block_size(kStatfsBlock);
  out->set_blocks(pool_.total() * kPerDataBlock);
  out->set_blocks_free((pool_.total() - pool_.used()) * kPerDataBlock);
  out->set_blocks_available(out->blocks_free());
  out->set_files(options_.max_inodes);
  out->set_files_free(options_.max_inodes -
                      std::min<uint64_t>(options_.max_inodes, inodes_.size()));
  out->set_name_max(kMaxNameLength);
}

Inode* MemTree::Find(uint64_t ino) const {
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? nullptr : it->second.get();
}

int MemTree::FindDir(uint64_t ino, Inode** dir) const {
  *dir = Find(ino);
  if (*dir == nullptr) return ENOENT;
  return (*dir)->is_dir() ? 0 : ENOTDIR;
}

Inode* MemTree::Child(const Inode& dir, absl::string_view name) const {
  if (name == ".") return Find(dir.ino);
  if (name == "..") return Find(dir.parent);
  auto it = dir.entries.find(name);
  return it == dir.entries.end() ? nullptr : Find(it->second.ino);
}

int MemTree::PrepareCreate(const Caller& caller, uint64_t parent, absl::string_view name,
                           Inode** dir) {
  if (int error = FindDir(parent, dir); error != 0) return error;
  if (int error = CheckName(name); error != 0) return error;
  if (!MayAccess(**dir, caller, kMayExec)) return EACCES;
  if (IsDots(name) || (*dir)->entries.contains(name)) return EEXIST;
  if (!MayAccess(**dir, caller, kMayWrite | kMayExec)) return EACCES;
  if ((*dir)->nlink == 0) return ENOENT;  // a removed directory takes no new names
  return 0;
}

Inode* MemTree::NewInode(const Caller& caller, const Inode& parent, uint32_t mode) {
  auto inode = std::make_unique<Inode>();
  inode->ino = next_ino_++;
  inode->uid = caller.uid;
  if (parent.mode & S_ISGID) {
    inode->gid = parent.gid;
    if (S_ISDIR(mode)) mode |= S_ISGID;
  } else {
    inode->gid = caller.gid;
  }
  if (!S_ISDIR(mode) && !caller.is_root() && !caller.InGroup(inode->gid)) mode &= ~S_ISGID;
  inode->mode = mode;
  inode->nlink = S_ISDIR(mode) ? 2 : 1;
  inode->atime_ns = inode->mtime_ns = inode->ctime_ns = NowNanos();
  Inode* raw = inode.get();
  inodes_.emplace(raw->ino, std::move(inode));
  return raw;
}

void MemTree::MaybeFree(Inode* inode) {
  if (inode->ino == kRootIno || inode->nlink > 0 || inode->lookups > 0 || inode->open_handles > 0) {
    return;
  }
  inode->data.Clear(pool_);
  inodes_.erase(inode->ino);
}

void MemTree::FillEntry(Inode* inode, Entry* out) {
  ++inode->lookups;
  out->set_ino(inode->ino);
  out->set_generation(1);  // inode numbers are never reused
  inode->FillAttr(out->mutable_attr());
}

bool MemTree::IsAncestor(const Inode& ancestor, const Inode& dir) const {
  for (const Inode* at = &dir; at != nullptr; at = Find(at->parent)) {
    if (at == &ancestor) return true;
    if (at->ino == kRootIno) return false;
  }
  return false;  // a removed directory: its parents are gone
}

int MemTree::Lookup(const Caller& caller, uint64_t parent, absl::string_view name, Entry* out) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* dir;
  if (int error = FindDir(parent, &dir); error != 0) return error;
  if (int error = CheckName(name); error != 0) return error;
  if (!MayAccess(*dir, caller, kMayExec)) return EACCES;
  Inode* child = Child(*dir, name);
  if (child == nullptr) return ENOENT;
  FillEntry(child, out);
  return 0;
}

void MemTree::Forget(uint64_t ino, uint64_t nlookup) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* inode = Find(ino);
  if (inode == nullptr || ino == kRootIno) return;
  inode->lookups -= std::min(nlookup, inode->lookups);
  MaybeFree(inode);
}

int MemTree::GetAttr(uint64_t ino, Attr* out) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Inode* inode = Find(ino);
  if (inode == nullptr) return ENOENT;
  inode->FillAttr(out);
  return 0;
}

int MemTree::SetAttrChecks(const Caller& caller, const Inode& inode,
                           const SetAttrRequest& request) const {
  constexpr uint32_t kKnown = SET_ATTR_MODE | SET_ATTR_UID | SET_ATTR_GID | SET_ATTR_SIZE |
                              SET_ATTR_ATIME | SET_ATTR_MTIME | SET_ATTR_ATIME_NOW |
                              SET_ATTR_MTIME_NOW;
  const uint32_t valid = request.valid();
  if ((valid & ~kKnown) != 0) return EINVAL;
  const bool owner = caller.is_root() || caller.uid == inode.uid;
  if ((valid & SET_ATTR_MODE) && !owner) return EPERM;
  if ((valid & (SET_ATTR_UID | SET_ATTR_GID)) &&
      !MayChown(inode, caller, (valid & SET_ATTR_UID) ? request.uid() : inode.uid,
                (valid & SET_ATTR_GID) ? request.gid() : inode.gid)) {
    return EPERM;
  }
  if (valid & SET_ATTR_SIZE) {
    if (inode.is_dir()) return EISDIR;
    if (!inode.is_regular()) return EINVAL;
    if (request.size() > options_.max_file_size) return EFBIG;
    if (request.fh() != 0) {
      const Handle* handle;
      if (FindHandle(inode.ino, request.fh(), false, &handle) != 0 ||
          (handle->flags & O_ACCMODE) == O_RDONLY) {
        return EBADF;
      }
    } else if (!MayAccess(inode, caller, kMayWrite)) {
      return EACCES;
    }
  }
  const bool explicit_time = ((valid & SET_ATTR_ATIME) && !(valid & SET_ATTR_ATIME_NOW)) ||
                             ((valid & SET_ATTR_MTIME) && !(valid & SET_ATTR_MTIME_NOW));
  if (explicit_time && !owner) return EPERM;
  if ((valid & (SET_ATTR_ATIME_NOW | SET_ATTR_MTIME_NOW)) && !owner &&
      !MayAccess(inode, caller, kMayWrite)) {
    return EACCES;
  }
  return 0;
}

int MemTree::SetAttr(const Caller& caller, const SetAttrRequest& request, Attr* out) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* inode = Find(request.ino());
  if (inode == nullptr) return ENOENT;
  if (int error = SetAttrChecks(caller, *inode, request); error != 0) return error;
  const uint32_t valid = request.valid();
  const int64_t now = NowNanos();
  if (valid & SET_ATTR_MODE) {
    inode->mode = (inode->mode & S_IFMT) | ChmodBits(*inode, caller, request.mode());
  }
  const uid_t uid = (valid & SET_ATTR_UID) ? request.uid() : inode->uid;
  const gid_t gid = (valid & SET_ATTR_GID) ? request.gid() : inode->gid;
  if ((valid & (SET_ATTR_UID | SET_ATTR_GID)) && inode->is_regular() && !(valid & SET_ATTR_MODE)) {
    // As Linux does on every chown of a file, by root too and to the same owner: no owner
    // inherits set-ID powers (set-group-ID without group execute marks locking: it stays).
    inode->mode &= ~S_ISUID;
    if (inode->mode & S_IXGRP) inode->mode &= ~S_ISGID;
  }
  inode->uid = uid;
  inode->gid = gid;
  if (valid & SET_ATTR_SIZE) {
    inode->data.Truncate(request.size(), pool_);
    inode->mtime_ns = now;
    // A truncate by anyone but root drops set-ID bits, as a write does.
    if (!(valid & SET_ATTR_MODE)) inode->RemovePrivileges(caller);
  }
  if (valid & SET_ATTR_ATIME) {
    inode->atime_ns = (valid & SET_ATTR_ATIME_NOW) ? now : request.atime_ns();
  } else if (valid & SET_ATTR_ATIME_NOW) {
    inode->atime_ns = now;
  }
  if (valid & SET_ATTR_MTIME) {
    inode->mtime_ns = (valid & SET_ATTR_MTIME_NOW) ? now : request.mtime_ns();
  } else if (valid & SET_ATTR_MTIME_NOW) {
    inode->mtime_ns = now;
  }
  inode->ctime_ns = now;
  inode->FillAttr(out);
  return 0;
}

int MemTree::MakeNode(const Caller& caller, uint64_t parent, absl::string_view name, uint32_t mode,
                      uint64_t rdev, absl::string_view target, Entry* out) {
  uint32_t type = mode & S_IFMT;
  switch (type) {
    case 0:
      type = S_IFREG;
      break;
    case S_IFREG:
    case S_IFDIR:
    case S_IFIFO:
    case S_IFSOCK:
      break;
    case S_IFCHR:
    case S_IFBLK:
      if (!caller.is_root()) return EPERM;
      break;
    case S_IFLNK:
      if (target.empty()) return ENOENT;
      if (target.size() > kMaxSymlinkLength) return ENAMETOOLONG;
      break;
    default:
      return EINVAL;
  }
  absl::WriterMutexLock lock(&mutex_);
  Inode* dir;
  if (int error = PrepareCreate(caller, parent, name, &dir); error != 0) return error;
  if (inodes_.size() >= options_.max_inodes) return ENOSPC;
  Inode* inode = NewInode(caller, *dir, type | (type == S_IFLNK ? 0777 : mode & 07777));
  if (inode->is_dir()) {
    inode->parent = dir->ino;
    ++dir->nlink;
  } else if (inode->is_symlink()) {
    inode->target = std::string(target);
  } else if (type == S_IFCHR || type == S_IFBLK) {
    inode->rdev = rdev;
  }
  dir->AddEntry(std::string(name), inode->ino);
  Touch(*dir, inode->ctime_ns);
  FillEntry(inode, out);
  return 0;
}

int MemTree::Link(const Caller& caller, uint64_t ino, uint64_t new_parent,
                  absl::string_view new_name, Entry* out) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* inode = Find(ino);
  if (inode == nullptr) return ENOENT;
  if (inode->is_dir()) return EPERM;
  Inode* dir;
  if (int error = PrepareCreate(caller, new_parent, new_name, &dir); error != 0) return error;
  if (inode->nlink == 0) return ENOENT;  // an unlinked file gets no new names
  ++inode->nlink;
  const int64_t now = NowNanos();
  inode->ctime_ns = now;
  dir->AddEntry(std::string(new_name), ino);
  Touch(*dir, now);
  FillEntry(inode, out);
  return 0;
}

int MemTree::Unlink(const Caller& caller, uint64_t parent, absl::string_view name) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* dir;
  if (int error = FindDir(parent, &dir); error != 0) return error;
  if (int error = CheckName(name); error != 0) return error;
  if (!MayAccess(*dir, caller, kMayExec)) return EACCES;
  Inode* child = Child(*dir, name);
  if (child == nullptr) return ENOENT;
  if (child->is_dir()) return EISDIR;
  if (!MayAccess(*dir, caller, kMayWrite | kMayExec)) return EACCES;
  if (!MayDelete(*dir, *child, caller)) return EPERM;
  dir->RemoveEntry(dir->entries.find(name));
  --child->nlink;
  const int64_t now = NowNanos();
  child->ctime_ns = now;
  Touch(*dir, now);
  MaybeFree(child);
  return 0;
}

int MemTree::Rmdir(const Caller& caller, uint64_t parent, absl::string_view name) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* dir;
  if (int error = FindDir(parent, &dir); error != 0) return error;
  if (int error = CheckName(name); error != 0) return error;
  if (!MayAccess(*dir, caller, kMayExec)) return EACCES;
  if (name == ".") return EINVAL;
  if (name == "..") return ENOTEMPTY;
  Inode* child = Child(*dir, name);
  if (child == nullptr) return ENOENT;
  if (!child->is_dir()) return ENOTDIR;
  if (!child->entries.empty()) return ENOTEMPTY;
  if (!MayAccess(*dir, caller, kMayWrite | kMayExec)) return EACCES;
  if (!MayDelete(*dir, *child, caller)) return EPERM;
  dir->RemoveEntry(dir->entries.find(name));
  child->nlink = 0;
  --dir->nlink;
  const int64_t now = NowNanos();
  child->ctime_ns = now;
  Touch(*dir, now);
  MaybeFree(child);
  return 0;
}

int MemTree::RenameChecks(const Caller& caller, Inode& from_dir, Inode& source, Inode& to_dir,
                          Inode* target, uint32_t flags) const {
  const bool exchange = (flags & RENAME_FLAG_EXCHANGE) != 0;
  if (!MayAccess(from_dir, caller, kMayWrite | kMayExec) ||
      !MayAccess(to_dir, caller, kMayWrite | kMayExec)) {
    return EACCES;
  }
  if (!MayDelete(from_dir, source, caller)) return EPERM;
  if (target != nullptr && !MayDelete(to_dir, *target, caller)) return EPERM;
  // A directory that changes parent rewrites its "..": it must be writable.
  const bool moves = &from_dir != &to_dir;
  if (moves && source.is_dir() && !MayAccess(source, caller, kMayWrite)) return EACCES;
  if (moves && exchange && target->is_dir() && !MayAccess(*target, caller, kMayWrite)) {
    return EACCES;
  }
  if (source.is_dir() && IsAncestor(source, to_dir)) return EINVAL;
  if (exchange && target->is_dir() && IsAncestor(*target, from_dir)) return EINVAL;
  if (!exchange && target != nullptr) {
    if (source.is_dir() && !target->is_dir()) return ENOTDIR;
    if (!source.is_dir() && target->is_dir()) return EISDIR;
    if (target->is_dir() && !target->entries.empty()) return ENOTEMPTY;
  }
  if (to_dir.nlink == 0) return ENOENT;
  return 0;
}

int MemTree::Rename(const Caller& caller, uint64_t parent, absl::string_view name,
                    uint64_t new_parent, absl::string_view new_name, uint32_t flags) {
  if ((flags & ~(RENAME_FLAG_NOREPLACE | RENAME_FLAG_EXCHANGE)) != 0 ||
      flags == (RENAME_FLAG_NOREPLACE | RENAME_FLAG_EXCHANGE)) {
    return EINVAL;
  }
  absl::WriterMutexLock lock(&mutex_);
  Inode *from_dir, *to_dir;
  if (int error = FindDir(parent, &from_dir); error != 0) return error;
  if (int error = FindDir(new_parent, &to_dir); error != 0) return error;
  if (int error = CheckName(name); error != 0) return error;
  if (int error = CheckName(new_name); error != 0) return error;
  if (!MayAccess(*from_dir, caller, kMayExec) || !MayAccess(*to_dir, caller, kMayExec)) {
    return EACCES;
  }
  if (IsDots(name) || IsDots(new_name)) return EINVAL;
  auto from = from_dir->entries.find(name);
  if (from == from_dir->entries.end()) return ENOENT;
  auto to = to_dir->entries.find(new_name);
  const bool exists = to != to_dir->entries.end();
  const bool exchange = (flags & RENAME_FLAG_EXCHANGE) != 0;
  if (exchange && !exists) return ENOENT;
  if ((flags & RENAME_FLAG_NOREPLACE) && exists) return EEXIST;
  Inode* source = Find(from->second.ino);
  Inode* target = exists ? Find(to->second.ino) : nullptr;
  if (source == target) return 0;  // two names of one inode: nothing to do
  if (int error = RenameChecks(caller, *from_dir, *source, *to_dir, target, flags); error != 0) {
    return error;
  }
  const int64_t now = NowNanos();
  if (exchange) {
    std::swap(from->second.ino, to->second.ino);
    if (source->is_dir()) source->parent = to_dir->ino;
    if (target->is_dir()) target->parent = from_dir->ino;
    if (from_dir != to_dir && source->is_dir() != target->is_dir()) {
      Inode* gains = source->is_dir() ? to_dir : from_dir;
      Inode* loses = source->is_dir() ? from_dir : to_dir;
      ++gains->nlink;
      --loses->nlink;
    }
    target->ctime_ns = now;
  } else {
    if (target != nullptr) {
      to_dir->RemoveEntry(to);
      if (target->is_dir()) {
        target->nlink = 0;
        --to_dir->nlink;
      } else {
        --target->nlink;
      }
      target->ctime_ns = now;
    }
    from_dir->RemoveEntry(from);
    to_dir->AddEntry(std::string(new_name), source->ino);
    if (source->is_dir()) {
      source->parent = to_dir->ino;
      if (from_dir != to_dir) {
        --from_dir->nlink;
        ++to_dir->nlink;
      }
    }
  }
  source->ctime_ns = now;
  Touch(*from_dir, now);
  Touch(*to_dir, now);
  if (target != nullptr && !exchange) MaybeFree(target);
  return 0;
}

int MemTree::ReadLink(uint64_t ino, std::string* target) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Inode* inode = Find(ino);
  if (inode == nullptr) return ENOENT;
  if (!inode->is_symlink()) return EINVAL;
  *target = inode->target;
  return 0;
}

size_t MemTree::inode_count() const {
  absl::ReaderMutexLock lock(&mutex_);
  return inodes_.size();
}

size_t MemTree::handle_count() const {
  absl::ReaderMutexLock lock(&mutex_);
  return handles_.size();
}

uint64_t MemTree::used_blocks() const {
  absl::ReaderMutexLock lock(&mutex_);
  return pool_.used();
}

}  // namespace syslink::examples::fs
