// CallTable<V>: a channel's calls in flight, by the id its link gave each request.
//
//   CallTable<Pending> calls;
//   calls.Emplace(id, std::move(pending));
//   if (Pending* p = calls.Find(reply.id)) ... calls.Erase(reply.id);
//   for (auto& [id, pending] : calls) ...
//
// A link end names a request's slot in the low bits of its id (MirrorSlotOf, msg_format.h)
// and has at most kMirrorSlots requests outstanding, each in a slot of its own, so this is a
// vector indexed by slot: finding, adding and removing a call is an index and a compare.
// Slots are reused lowest-first by the link, so the vector stays as long as the most calls
// ever in flight at once.
//
// A slot is free in the link once it has read the reply, which may be before the channel
// has it: a link short of buffer room reads ahead into a queue of its own. So a new call
// may come for a slot whose call is still here; that one moves past kMirrorSlots, where
// Find() and Erase() look (a short scan) when the slot holds another id. Ids never repeat,
// so each call is found by its own.
//
// Pointers into the table stay valid until the next Emplace (which may grow it) or Clear.
// Iteration is in slot order and skips free slots; the body must not add or remove calls.
//
// Thread safety: none; the channel's mutex guards it.

#ifndef SYSLINK_RPC_INTERNAL_CALL_TABLE_H_
#define SYSLINK_RPC_INTERNAL_CALL_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "syslink/msg_format.h"

namespace syslink::rpc::internal {

template <typename V>
class CallTable {
 public:
  struct Entry {
    uint64_t id = 0;  // 0: the slot is free
    V value{};
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The call with request id `id`; null if there is none. `id` may be anything.
  V* Find(uint64_t id) {
    const uint32_t slot = MirrorSlotOf(id);
    if (id == 0 || slot >= entries_.size() || entries_[slot].id != id) [[unlikely]] {
      return FindMoved(id);
    }
    return &entries_[slot].value;
  }

  // Adds call `id` (non-zero, from the link, never added before).
  V& Emplace(uint64_t id, V&& value) {
    const uint32_t slot = MirrorSlotOf(id);
    if (slot >= entries_.size()) [[unlikely]] {
      entries_.resize(slot + 1);
    }
    if (entries_[slot].id != 0) [[unlikely]]
      MoveAside(slot);
    Entry& entry = entries_[slot];
    entry.id = id;
    entry.value = std::move(value);
    ++size_;
    return entry.value;
  }

  // Removes call `id`, which must be in the table.
  void Erase(uint64_t id) {
    Entry& entry = entries_[MirrorSlotOf(id)];
    if (entry.id != id) [[unlikely]]
      return EraseMoved(id);
    entry.id = 0;
    // Lets go of what the call held, in place (no temporary to move from).
    std::destroy_at(&entry.value);
    std::construct_at(&entry.value);
    --size_;
  }

  void Clear() {
    entries_.clear();
    size_ = 0;
  }

  class iterator {
   public:
    iterator(Entry* at, Entry* end) : at_(at), end_(end) { SkipFree(); }
    Entry& operator*() const { return *at_; }
    iterator& operator++() {
      ++at_;
      SkipFree();
      return *this;
    }
    bool operator!=(const iterator& other) const { return at_ != other.at_; }

   private:
    void SkipFree() {
      while (at_ != end_ && at_->id == 0) ++at_;
    }
    Entry* at_;
    Entry* end_;
  };
  iterator begin() { return {entries_.data(), entries_.data() + entries_.size()}; }
  iterator end() { return {entries_.data() + entries_.size(), entries_.data() + entries_.size()}; }

 private:
  // Find() of a call moved aside (out of line: the common call is in its slot).
  ABSL_ATTRIBUTE_NOINLINE V* FindMoved(uint64_t id) {
    const size_t moved = MovedIndex(id);
    return moved != 0 ? &entries_[moved].value : nullptr;
  }
  // Erase() of a call moved aside; the moved calls' entries go when the last one does.
  ABSL_ATTRIBUTE_NOINLINE void EraseMoved(uint64_t id) {
    Entry& entry = entries_[MovedIndex(id)];
    entry.id = 0;
    std::destroy_at(&entry.value);
    std::construct_at(&entry.value);
    --size_;
    while (entries_.size() > kMirrorSlots && entries_.back().id == 0) entries_.pop_back();
  }
  // The index past kMirrorSlots of call `id`, moved aside; 0 if it is not there.
  ABSL_ATTRIBUTE_NOINLINE size_t MovedIndex(uint64_t id) const {
    for (size_t i = kMirrorSlots; i < entries_.size(); ++i) {
      if (entries_[i].id == id && id != 0) return i;
    }
    return 0;
  }
  // Moves the call in `slot` past kMirrorSlots, into a free entry there or a new one.
  ABSL_ATTRIBUTE_NOINLINE void MoveAside(uint32_t slot) {
    if (entries_.size() < kMirrorSlots) entries_.resize(kMirrorSlots);
    size_t to = kMirrorSlots;
    while (to < entries_.size() && entries_[to].id != 0) ++to;
    if (to == entries_.size()) entries_.emplace_back();
    entries_[to].id = std::exchange(entries_[slot].id, 0);
    entries_[to].value = std::move(entries_[slot].value);
    std::destroy_at(&entries_[slot].value);
    std::construct_at(&entries_[slot].value);
  }

  std::vector<Entry> entries_;  // by slot, then the calls moved aside
  size_t size_ = 0;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CALL_TABLE_H_
