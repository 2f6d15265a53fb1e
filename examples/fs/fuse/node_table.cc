#include "examples/fs/fuse/node_table.h"

#include <algorithm>

namespace syslink::examples::fs {

uint64_t NodeTable::Add(uint64_t epoch, uint64_t ino) {
  absl::MutexLock lock(&mutex_);
  auto [it, inserted] = by_inode_.try_emplace({epoch, ino}, next_id_);
  if (inserted) {
    by_id_[next_id_] = Held{Node{ino, epoch}, 0};
    ++next_id_;
  }
  ++by_id_[it->second].lookups;
  return it->second;
}

std::optional<NodeTable::Node> NodeTable::Find(uint64_t node_id) const {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second.node;
}

std::optional<NodeTable::Node> NodeTable::Forget(uint64_t node_id, uint64_t nlookup) {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return std::nullopt;
  Held& held = it->second;
  const Node node = held.node;
  held.lookups -= std::min(held.lookups, nlookup);
  if (held.lookups == 0) {
    by_inode_.erase(std::make_pair(node.epoch, node.ino));
    by_id_.erase(it);
  }
  return node;
}

size_t NodeTable::size() const {
  absl::MutexLock lock(&mutex_);
  return by_id_.size();
}

uint64_t NodeTable::LookupsOf(uint64_t node_id) const {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(node_id);
  return it == by_id_.end() ? 0 : it->second.lookups;
}

}  // namespace syslink::examples::fs
