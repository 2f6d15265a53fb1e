#include "examples/fs/fuse/capability_cache.h"

namespace syslink::examples::fs {

bool CapabilityCache::KnownAbsent(uint64_t node, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  auto found = seen_at_.find(node);
  if (found == seen_at_.end()) return false;
  if (now - found->second < ttl_) return true;
  seen_at_.erase(found);
  return false;
}

uint64_t CapabilityCache::generation() const {
  absl::MutexLock lock(&mutex_);
  return generation_;
}

void CapabilityCache::NoteAbsent(uint64_t node, uint64_t generation, absl::Time now) {
  if (ttl_ <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&mutex_);
  if (generation != generation_) return;
  if (seen_at_.size() >= max_entries_) seen_at_.clear();  // files come and go: start over
  seen_at_[node] = now;
}

void CapabilityCache::Drop(uint64_t node) {
  absl::MutexLock lock(&mutex_);
  ++generation_;
  seen_at_.erase(node);
}

size_t CapabilityCache::size() const {
  absl::MutexLock lock(&mutex_);
  return seen_at_.size();
}

}  // namespace syslink::examples::fs
