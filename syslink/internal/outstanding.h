// OutstandingRequests: the requests an end has sent and not yet seen answered, and
// CompleteUnreplied(): the one piece that answers for a peer that no longer can.
//
//   uint64_t id = table.Mirror(/*command=*/3, /*dma_bytes=*/0, CycleCount());
//   PublishTheRequest(id, MirrorSlotOf(id));
//   table.Track({.id = id, .command = 3, .deadline = deadline}, CycleCount());
//   std::optional<OutstandingRequest> r = table.Take(id);   // the reply came
//   ...
//   std::vector<MessageHeader> replies = CompleteUnreplied(table.TakeAll(), PEER_DIED);
//
// The table hands out the ids. Each names a slot, one per request in the table (at most
// kMirrorSlots), in its low bits (MirrorSlotOf, msg_format.h): looking an id up is an index
// and a compare. Above them is a count of the requests sent, so that an id does not come
// back for 2^52 requests.
//
// Every request leaves the table exactly once: answered (Take), abandoned at its deadline
// or by Cancel (Abandon: the id stays known so a late reply is dropped, not mistaken for a
// protocol violation, and a buffer lent with it is reclaimed only then), or completed for a
// peer that died (TakeAll + CompleteUnreplied).
//
// CompleteUnreplied is used both by an end that sees its peer vanish and by the broker,
// which writes the replies it returns into the survivor's inbound ring.
//
// With a mirror (mirror_format.h), the table keeps each request's slot of the mirror
// (outstanding or abandoned) up to date in shared memory, so the broker can answer for a
// vanished peer.
//
// Thread safety: not thread-safe; the owning end serializes access.

#ifndef SYSLINK_SYSLINK_INTERNAL_OUTSTANDING_H_
#define SYSLINK_SYSLINK_INTERNAL_OUTSTANDING_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"

namespace syslink::internal {

// A DMA buffer of this end lent with a request or a reply.
struct Loan {
  uint64_t offset = 0;
  uint64_t length = 0;      // bytes lent (for kFlagDmaFromTarget: the most the peer may fill)
  uint16_t flag = 0;        // kFlagDmaToTarget, kFlagDmaFromTarget or kFlagDmaReplyBuffer
  bool wanted_back = true;  // a lender's: false frees the pages when the reply is read
};

struct OutstandingRequest {
  uint64_t id = 0;
  uint32_t command = 0;
  absl::Time deadline = absl::InfiniteFuture();
  std::optional<Loan> loan;
};

class OutstandingRequests {
 public:
  static constexpr int kSlotBits = 12;
  static_assert(kMirrorSlots == 1u << kSlotBits);

  // `mirror` (kMirrorSlots slots in shared memory, written only by this table) may be null.
  explicit OutstandingRequests(MirrorSlot* mirror = nullptr);

  // True when every slot is taken (by outstanding or abandoned requests): a sender must
  // wait.
  bool full() const { return free_slots_.empty(); }

  // A request is added in two steps, for a sender that publishes it in between. Mirror()
  // hands out the request's id and fills its slot of the mirror: the target may look at
  // the slot as soon as the request is published. `sent_cycles` may be a CycleCount() from
  // a little earlier. Track() enters the request (`request.id` being Mirror()'s answer) in
  // the table, before any reply can be read, and gives the slot the exact `sent_cycles`.
  // Only when not full().
  uint64_t Mirror(uint32_t command, uint64_t dma_bytes, uint64_t sent_cycles) {
    const uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    const uint64_t id = sent_++ << kSlotBits | slot;
    if (slot >= entries_.size()) [[unlikely]] {
      entries_.resize(slot + 1);
    }
    if (mirror_ != nullptr) {
      MirrorSlot& mirrored = mirror_[slot];
      mirrored.command = command;
      mirrored.state.store(0, std::memory_order_relaxed);
      mirrored.sent_cycles = sent_cycles;
      mirrored.dma_bytes = dma_bytes;
      mirrored.id.store(id, std::memory_order_release);  // last: the slot is complete
    }
    return id;
  }
  void Track(const OutstandingRequest& request, uint64_t sent_cycles) {
    const uint32_t slot = MirrorSlotOf(request.id);
    if (mirror_ != nullptr) mirror_[slot].sent_cycles = sent_cycles;
    if (request.deadline != absl::InfiniteFuture()) [[unlikely]] {
      deadlines_.emplace(request.deadline, request.id);
    }
    entries_[slot] = Entry{request, State::kOutstanding};
    ++outstanding_;
  }

  // The outstanding request `id`, left in place; null if there is none. `id` may be
  // anything (a peer's claim).
  const OutstandingRequest* Find(uint64_t id) const {
    const Entry* entry = EntryOf(id, State::kOutstanding);
    return entry != nullptr ? &entry->request : nullptr;
  }

  // Removes and returns request `id`, if it is outstanding.
  std::optional<OutstandingRequest> Take(uint64_t id);

  // Removes request `id`, answered; false if it is not outstanding. Take() without the copy.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Complete(uint64_t id) {
    Entry* entry = EntryOf(id, State::kOutstanding);
    if (entry == nullptr) return false;
    ForgetDeadline(entry->request);
    --outstanding_;
    Free(*entry);
    return true;
  }

  // Removes request `id` but remembers it as abandoned, keeping its loan until the late
  // reply comes (TakeAbandoned) or the peer is gone (TakeAllAbandoned). Its slot stays
  // taken, and in the mirror it is marked kMirrorGivenUp.
  std::optional<OutstandingRequest> Abandon(uint64_t id);

  // If `id` was abandoned, forgets it and returns its loan (if any) as the outer optional.
  std::optional<std::optional<Loan>> TakeAbandoned(uint64_t id);

  // Whether any outstanding request has a finite deadline.
  bool has_deadlines() const { return !deadlines_.empty(); }

  // The earliest deadline of an outstanding request (InfiniteFuture if none).
  absl::Time NextDeadline() const {
    return deadlines_.empty() ? absl::InfiniteFuture() : deadlines_.begin()->first;
  }

  // Ids of outstanding requests whose deadline is at or before `now`.
  std::vector<uint64_t> Expired(absl::Time now) const;

  // Removes every outstanding request, in the order they were sent; abandoned ones are
  // returned by TakeAllAbandoned.
  std::vector<OutstandingRequest> TakeAll();
  std::vector<Loan> TakeAllAbandoned();

  bool Contains(uint64_t id) const { return Find(id) != nullptr; }
  size_t size() const { return outstanding_; }
  size_t abandoned() const { return abandoned_; }

 private:
  enum class State : uint8_t { kFree, kOutstanding, kAbandoned };
  struct Entry {
    OutstandingRequest request;
    State state = State::kFree;
  };

  const Entry* EntryOf(uint64_t id, State state) const {
    const uint32_t slot = MirrorSlotOf(id);
    if (slot >= entries_.size()) return nullptr;
    const Entry& entry = entries_[slot];
    return entry.request.id == id && entry.state == state ? &entry : nullptr;
  }
  Entry* EntryOf(uint64_t id, State state) {
    return const_cast<Entry*>(std::as_const(*this).EntryOf(id, state));
  }
  // Takes the request out of the deadline order.
  void ForgetDeadline(const OutstandingRequest& request) {
    if (request.deadline != absl::InfiniteFuture()) [[unlikely]] {
      deadlines_.erase({request.deadline, request.id});
    }
  }
  // Frees `entry`'s slot, here and in the mirror.
  void Free(Entry& entry) {
    const uint32_t slot = MirrorSlotOf(entry.request.id);
    entry.state = State::kFree;
    if (mirror_ != nullptr) mirror_[slot].id.store(0, std::memory_order_release);
    free_slots_.push_back(slot);
  }

  std::vector<Entry> entries_;                           // by slot; grown as slots are first used
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;  // finite deadlines only
  MirrorSlot* mirror_;
  std::vector<uint32_t> free_slots_;  // the last is taken first
  uint64_t sent_ = 1;                 // requests mirrored, plus one: ids are never 0
  size_t outstanding_ = 0;
  size_t abandoned_ = 0;
};

// A request left unanswered: what a synthetic reply must name.
struct Unreplied {
  uint64_t id;
  uint32_t command;
};

// Synthetic replies, one per request, each with `code`, kFlagSynthetic, no payload and no
// buffer, in the order given.
std::vector<MessageHeader> CompleteUnreplied(std::span<const Unreplied> requests,
                                             absl::StatusCode code);

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_OUTSTANDING_H_
