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
    if (id == 0 || slot >= entries_.size() || entries_[slot].id != id) return nullptr;
    return &entries_[slot].value;
  }

  // Adds call `id` (non-zero, from the link): its slot must be free, as the link's
  // outstanding requests guarantee.
  V& Emplace(uint64_t id, V&& value) {
    const uint32_t slot = MirrorSlotOf(id);
    if (slot >= entries_.size()) [[unlikely]] {
      entries_.resize(slot + 1);
    }
    Entry& entry = entries_[slot];
    entry.id = id;
    entry.value = std::move(value);
    ++size_;
    return entry.value;
  }

  // Removes call `id`, which must be in the table.
  void Erase(uint64_t id) {
    Entry& entry = entries_[MirrorSlotOf(id)];
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
  std::vector<Entry> entries_;  // by slot
  size_t size_ = 0;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CALL_TABLE_H_
