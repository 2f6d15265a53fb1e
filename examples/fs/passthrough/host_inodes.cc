#include "examples/fs/passthrough/host_inodes.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "examples/fs/fs_format.h"

namespace syslink::examples::fs {
namespace {

std::shared_ptr<HostInode> Describe(UniqueFd fd, const struct stat& st, uint64_t ino) {
  auto inode = std::make_shared<HostInode>();
  inode->ino = ino;
  inode->dev = st.st_dev;
  inode->host_ino = st.st_ino;
  inode->type = st.st_mode & S_IFMT;
  inode->fd = std::move(fd);
  return inode;
}

}  // namespace

HostInodes::HostInodes(UniqueFd root) : next_ino_(kRootIno + 1) {
  struct stat st = {};
  fstatat(root.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  root_ = Describe(std::move(root), st, kRootIno);
  by_ino_.emplace(kRootIno, Slot{root_, 1});
  by_host_.emplace(HostKey(root_->dev, root_->host_ino), kRootIno);
}

std::shared_ptr<const HostInode> HostInodes::Find(uint64_t ino) const {
  absl::MutexLock lock(&mutex_);
  auto it = by_ino_.find(ino);
  return it == by_ino_.end() ? nullptr : it->second.inode;
}

uint64_t HostInodes::Add(UniqueFd fd, const struct stat& st) {
  absl::MutexLock lock(&mutex_);
  auto [known, added] = by_host_.emplace(HostKey(st.st_dev, st.st_ino), next_ino_);
  if (added) {
    by_ino_.emplace(next_ino_, Slot{Describe(std::move(fd), st, next_ino_), 0});
    ++next_ino_;
  }
  ++by_ino_[known->second].lookups;
  return known->second;  // a known file's `fd` is closed on return, after the lock
}

void HostInodes::Forget(uint64_t ino, uint64_t nlookup) {
  std::shared_ptr<const HostInode> dropped;  // closed after the lock is released
  absl::MutexLock lock(&mutex_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end() || ino == kRootIno) return;
  it->second.lookups -= std::min(nlookup, it->second.lookups);
  if (it->second.lookups > 0) return;
  dropped = std::move(it->second.inode);
  by_host_.erase(HostKey(dropped->dev, dropped->host_ino));
  by_ino_.erase(it);
}

uint64_t HostInodes::Known(dev_t dev, ino_t host_ino) const {
  absl::MutexLock lock(&mutex_);
  auto it = by_host_.find(HostKey(dev, host_ino));
  return it == by_host_.end() ? 0 : it->second;
}

size_t HostInodes::size() const {
  absl::MutexLock lock(&mutex_);
  return by_ino_.size();
}

}  // namespace syslink::examples::fs
