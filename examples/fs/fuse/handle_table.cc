#include "examples/fs/fuse/handle_table.h"

namespace syslink::examples::fs {

uint64_t HandleTable::Add(Handle handle) {
  absl::MutexLock lock(&mutex_);
  const uint64_t id = next_id_++;
  by_id_[id] = handle;
  return id;
}

std::optional<HandleTable::Handle> HandleTable::Find(uint64_t id) const {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<HandleTable::Handle> HandleTable::Remove(uint64_t id) {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  const Handle handle = it->second;
  by_id_.erase(it);
  return handle;
}

size_t HandleTable::size() const {
  absl::MutexLock lock(&mutex_);
  return by_id_.size();
}

}  // namespace syslink::examples::fs
