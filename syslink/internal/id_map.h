// IdMap<V>: the requests in flight on one link end, by message id.
//
//   IdMap<Pending> map;
//   auto [pending, added] = map.TryEmplace(7);   // a default Pending, or the one at 7
//   if (Pending* p = map.Find(7)) ...
//   std::optional<Pending> taken = map.Take(7);  // removed and returned
//
// A link adds and removes an id for every message, so this is the cheapest map that does
// that well: open addressing with linear probing in one power-of-two array, a
// multiplicative hash (consecutive ids, as an end hands them out, land in consecutive
// slots), at most half full, and removal by shifting the entries after it back, so no
// tombstones build up. Id 0 marks an empty slot and cannot be stored.
//
// Pointers into the map stay valid until the next TryEmplace, Erase, Take or Clear.
// Iteration order (ForEach) is unspecified.
//
// Ids may come from a peer: a peer that chooses ids to collide lengthens probes to at most
// the number of entries, so whoever fills the map from peer input must bound its size.
//
// Thread safety: not thread-safe; the owning end serializes access.

#ifndef SYSLINK_SYSLINK_INTERNAL_ID_MAP_H_
#define SYSLINK_SYSLINK_INTERNAL_ID_MAP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace syslink::internal {

template <typename V>
class IdMap {
 public:
  IdMap() : slots_(kInitialCapacity), mask_(kInitialCapacity - 1), shift_(64 - kInitialBits) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  V* Find(uint64_t id) {
    if (id == 0) return nullptr;
    for (size_t i = Home(id);; i = Next(i)) {
      if (slots_[i].id == id) return &slots_[i].value;
      if (slots_[i].id == 0) return nullptr;
    }
  }
  const V* Find(uint64_t id) const { return const_cast<IdMap*>(this)->Find(id); }
  bool Contains(uint64_t id) const { return Find(id) != nullptr; }

  // The value at `id` (non-zero) and true if it was just added (default-constructed), or
  // the one already there and false.
  std::pair<V*, bool> TryEmplace(uint64_t id) {
    if (2 * (size_ + 1) > slots_.size()) Grow();
    size_t i = Home(id);
    for (; slots_[i].id != 0; i = Next(i)) {
      if (slots_[i].id == id) return {&slots_[i].value, false};
    }
    slots_[i].id = id;
    ++size_;
    return {&slots_[i].value, true};
  }

  // Removes `id` and returns its value, if it is there.
  std::optional<V> Take(uint64_t id) {
    V* value = Find(id);
    if (value == nullptr) return std::nullopt;
    std::optional<V> taken(std::move(*value));
    RemoveAt(SlotOf(value));
    return taken;
  }

  bool Erase(uint64_t id) {
    V* value = Find(id);
    if (value == nullptr) return false;
    RemoveAt(SlotOf(value));
    return true;
  }

  void Clear() {
    for (Slot& slot : slots_) slot = Slot();
    size_ = 0;
  }

  // Calls `visit(id, value)` for every entry; `visit` must not change the map.
  template <typename F>
  void ForEach(F visit) {
    for (Slot& slot : slots_) {
      if (slot.id != 0) visit(slot.id, slot.value);
    }
  }

 private:
  static constexpr int kInitialBits = 4;
  static constexpr size_t kInitialCapacity = size_t{1} << kInitialBits;

  struct Slot {
    uint64_t id = 0;
    V value{};
  };

  // Fibonacci hashing: the top bits of id times 2^64 divided by the golden ratio.
  size_t Home(uint64_t id) const { return (id * 0x9e3779b97f4a7c15ull) >> shift_; }
  size_t Next(size_t i) const { return (i + 1) & mask_; }
  size_t SlotOf(const V* value) const {
    return reinterpret_cast<const Slot*>(reinterpret_cast<const char*>(value) -
                                         offsetof(Slot, value)) -
           slots_.data();
  }

  // Empties slot `hole`, then moves back every later entry of its run that may sit
  // there (its home is not cyclically in (hole, i]), so every entry stays reachable from
  // its home without a gap.
  void RemoveAt(size_t hole) {
    slots_[hole] = Slot();
    --size_;
    for (size_t i = Next(hole); slots_[i].id != 0; i = Next(i)) {
      size_t home = Home(slots_[i].id);
      bool stays = hole < i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (stays) continue;
      slots_[hole] = std::move(slots_[i]);
      slots_[i] = Slot();
      hole = i;
    }
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    --shift_;
    for (Slot& slot : old) {
      if (slot.id == 0) continue;
      size_t i = Home(slot.id);
      while (slots_[i].id != 0) i = Next(i);
      slots_[i] = std::move(slot);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_;  // slots_.size() - 1
  int shift_;    // 64 - log2(slots_.size())
  size_t size_ = 0;
};

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_ID_MAP_H_
