#include "examples/fs/passthrough/host_handles.h"

#include <fcntl.h>

namespace syslink::examples::fs {

bool HostHandle::readable() const { return (flags & O_ACCMODE) != O_WRONLY; }
bool HostHandle::writable() const { return (flags & O_ACCMODE) != O_RDONLY; }

uint64_t HostHandles::Add(uint64_t ino, UniqueFd fd, uint32_t flags, bool dir, uint64_t client) {
  auto handle = std::make_shared<HostHandle>();
  handle->ino = ino;
  handle->fd = std::move(fd);
  handle->flags = flags;
  handle->dir = dir;
  handle->client = client;
  absl::MutexLock lock(&mutex_);
  uint64_t fh;
  do {
    fh = numbers_.Next();
  } while (handles_.contains(fh));
  handles_.emplace(fh, std::move(handle));
  return fh;
}

std::shared_ptr<HostHandle> HostHandles::Find(uint64_t ino, uint64_t fh, bool dir) const {
  absl::MutexLock lock(&mutex_);
  auto it = handles_.find(fh);
  if (it == handles_.end() || it->second->ino != ino || it->second->dir != dir) return nullptr;
  return it->second;
}

bool HostHandles::Remove(uint64_t ino, uint64_t fh, bool dir) {
  std::shared_ptr<HostHandle> removed;  // closed after the lock is released
  absl::MutexLock lock(&mutex_);
  auto it = handles_.find(fh);
  if (it == handles_.end() || it->second->ino != ino || it->second->dir != dir) return false;
  removed = std::move(it->second);
  handles_.erase(it);
  return true;
}

size_t HostHandles::size() const {
  absl::MutexLock lock(&mutex_);
  return handles_.size();
}

}  // namespace syslink::examples::fs
