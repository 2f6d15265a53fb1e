#include "examples/fs/memfs_inode.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>

#include "absl/time/clock.h"
#include "examples/fs/fs_format.h"

namespace syslink::examples::fs {

bool BlockPool::Take(uint64_t count) {
  if (count > total_ - used_) return false;
  used_ += count;
  return true;
}

uint64_t FileData::NextGeneration() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

size_t FileData::Read(uint64_t offset, std::span<std::byte> out) const {
  if (offset >= size_) return 0;
  const size_t length = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
  size_t done = 0;
  auto block = blocks_.lower_bound(offset / kBlockSize);
  while (done < length) {
    const uint64_t at = offset + done;
    const uint64_t index = at / kBlockSize;
    const size_t within = at % kBlockSize;
    const size_t n = std::min(length - done, kBlockSize - within);
    while (block != blocks_.end() && block->first < index) ++block;
    if (block != blocks_.end() && block->first == index) {
      std::memcpy(out.data() + done, block->second.get() + within, n);
    } else {
      std::memset(out.data() + done, 0, n);  // a hole
    }
    done += n;
  }
  return length;
}

int FileData::Write(uint64_t offset, std::span<const std::byte> in, BlockPool& pool,
                    uint64_t max_size) {
  if (in.empty()) return 0;
  generation_ = NextGeneration();
  if (offset > max_size || in.size() > max_size - offset) return EFBIG;
  const uint64_t first = offset / kBlockSize;
  const uint64_t last = (offset + in.size() - 1) / kBlockSize;
  // Counted over the blocks the file has, not over the range: a range of a terabyte on a
  // small pool is refused at once, not after millions of look-ups under the tree's lock.
  const uint64_t present =
      static_cast<uint64_t>(std::distance(blocks_.lower_bound(first), blocks_.upper_bound(last)));
  if (!pool.Take(last - first + 1 - present)) return ENOSPC;
  size_t done = 0;
  while (done < in.size()) {
    const uint64_t at = offset + done;
    const size_t within = at % kBlockSize;
    const size_t n = std::min(in.size() - done, kBlockSize - within);
    std::unique_ptr<std::byte[]>& block = blocks_[at / kBlockSize];
    if (block == nullptr) {
      // A new block: zero what this write leaves untouched (a hole, or past the end).
      block = n == kBlockSize ? std::make_unique_for_overwrite<std::byte[]>(kBlockSize)
                              : std::make_unique<std::byte[]>(kBlockSize);
    }
    std::memcpy(block.get() + within, in.data() + done, n);
    done += n;
  }
  size_ = std::max<uint64_t>(size_, offset + in.size());
  return 0;
}

void FileData::Truncate(uint64_t size, BlockPool& pool) {
  generation_ = NextGeneration();
  if (size < size_) {
    const uint64_t keep = (size + kBlockSize - 1) / kBlockSize;  // blocks wholly or partly kept
    auto drop = blocks_.lower_bound(keep);
    pool.Give(std::distance(drop, blocks_.end()));
    blocks_.erase(drop, blocks_.end());
    if (size % kBlockSize != 0) {
      auto tail = blocks_.find(size / kBlockSize);
      if (tail != blocks_.end()) {
        const size_t within = size % kBlockSize;
        std::memset(tail->second.get() + within, 0, kBlockSize - within);
      }
    }
  }
  size_ = size;
}

int FileData::Allocate(uint64_t offset, uint64_t length, bool keep_size, BlockPool& pool,
                       uint64_t max_size) {
  if (length == 0) return 0;
  if (offset > max_size || length > max_size - offset) return EFBIG;
  const uint64_t first = offset / kBlockSize;
  const uint64_t last = (offset + length - 1) / kBlockSize;
  uint64_t missing = 0;
  for (uint64_t index = first; index <= last; ++index) missing += !blocks_.contains(index);
  if (!pool.Take(missing)) return ENOSPC;
  generation_ = NextGeneration();
  for (uint64_t index = first; index <= last; ++index) {
    std::unique_ptr<std::byte[]>& block = blocks_[index];
    if (block == nullptr) block = std::make_unique<std::byte[]>(kBlockSize);
  }
  if (!keep_size) size_ = std::max<uint64_t>(size_, offset + length);
  return 0;
}

void FileData::PunchHole(uint64_t offset, uint64_t length, BlockPool& pool) {
  if (length == 0) return;
  generation_ = NextGeneration();
  const uint64_t end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
  for (auto block = blocks_.lower_bound(offset / kBlockSize);
       block != blocks_.end() && block->first * kBlockSize < end;) {
    const uint64_t start = block->first * kBlockSize;
    const uint64_t from = std::max(start, offset) - start;
    const uint64_t to = std::min<uint64_t>(end - start, kBlockSize);
    if (from == 0 && to == kBlockSize) {
      block = blocks_.erase(block);
      pool.Give(1);
      continue;
    }
    std::memset(block->second.get() + from, 0, to - from);
    ++block;
  }
}

bool Inode::is_dir() const { return S_ISDIR(mode); }
bool Inode::is_regular() const { return S_ISREG(mode); }
bool Inode::is_symlink() const { return S_ISLNK(mode); }

void Inode::RemovePrivileges(const Caller& writer) {
  xattrs.erase("security.capability");
  if (writer.is_root()) return;
  mode &= ~S_ISUID;
  if (mode & S_IXGRP) mode &= ~S_ISGID;
}

void Inode::AddEntry(std::string name, uint64_t child) {
  const uint64_t cookie = next_cookie++;
  by_cookie.emplace(cookie, name);
  entries.emplace(std::move(name), DirSlot{child, cookie});
}

void Inode::RemoveEntry(std::map<std::string, DirSlot, std::less<>>::iterator entry) {
  by_cookie.erase(entry->second.cookie);
  entries.erase(entry);
}

void Inode::FillAttr(Attr* attr) const {
  attr->set_ino(ino);
  attr->set_mode(mode);
  attr->set_nlink(nlink);
  attr->set_uid(uid);
  attr->set_gid(gid);
  attr->set_rdev(rdev);
  attr->set_atime_ns(atime_ns);
  attr->set_mtime_ns(mtime_ns);
  attr->set_ctime_ns(ctime_ns);
  attr->set_blksize(kMaxIoSize);
  if (is_regular()) {
    attr->set_size(data.size());
    attr->set_blocks(data.allocated_blocks() * (FileData::kBlockSize / 512));
  } else if (is_symlink()) {
    attr->set_size(target.size());
  } else if (is_dir()) {
    attr->set_size(20 * (2 + entries.size()));  // as tmpfs counts
  }
}

bool MayAccess(const Inode& inode, const Caller& caller, int mask) {
  if (caller.is_root()) {
    // Root reads, writes and searches anything, and executes what anyone may execute.
    if ((mask & kMayExec) == 0 || inode.is_dir()) return true;
    return (inode.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  }
  uint32_t granted;
  if (caller.uid == inode.uid) {
    granted = (inode.mode >> 6) & 7;
  } else if (caller.InGroup(inode.gid)) {
    granted = (inode.mode >> 3) & 7;
  } else {
    granted = inode.mode & 7;
  }
  return (granted & mask) == static_cast<uint32_t>(mask);
}

bool MayDelete(const Inode& dir, const Inode& victim, const Caller& caller) {
  if ((dir.mode & S_ISVTX) == 0 || caller.is_root()) return true;
  return caller.uid == dir.uid || caller.uid == victim.uid;
}

bool MayChown(const Inode& inode, const Caller& caller, uid_t uid, gid_t gid) {
  if (caller.is_root()) return true;
  return caller.uid == inode.uid && uid == inode.uid && (gid == inode.gid || caller.InGroup(gid));
}

mode_t ChmodBits(const Inode& inode, const Caller& caller, mode_t mode) {
  mode &= 07777;
  if (!caller.is_root() && !caller.InGroup(inode.gid)) mode &= ~S_ISGID;
  return mode;
}

int MayXattr(const Inode& inode, const Caller& caller, std::string_view name, bool write,
             bool check_mode) {
  if (name.empty() || name.size() > kMaxXattrName) return ERANGE;
  // A NUL would end the name in a list; a namespace alone names nothing (the kernel's
  // EINVAL for "user.").
  if (name.find('\0') != std::string_view::npos) return EINVAL;
  if (name == "trusted." || name == "security." || name == "user.") return EINVAL;
  if (name.starts_with("trusted.")) return caller.is_root() ? 0 : EPERM;
  if (name.starts_with("security.")) return !write || caller.is_root() ? 0 : EPERM;
  if (!name.starts_with("user.")) return EOPNOTSUPP;
  if (!inode.is_regular() && !inode.is_dir()) return write ? EPERM : ENODATA;
  if (!check_mode) return 0;
  return MayAccess(inode, caller, write ? kMayWrite : kMayRead) ? 0 : EACCES;
}

bool ListsXattr(const Caller& caller, std::string_view name) {
  return caller.is_root() || !name.starts_with("trusted.");
}

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

}  // namespace syslink::examples::fs
