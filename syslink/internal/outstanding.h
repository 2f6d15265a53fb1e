// OutstandingRequests: the requests an end has sent and not yet seen answered, and
// CompleteUnreplied(): the one piece that answers for a peer that no longer can.
//
//   uint32_t slot = table.Mirror(7, /*command=*/3, /*dma_bytes=*/0, CycleCount());
//   PublishTheRequest(slot);
//   table.Track({.id = 7, .command = 3, .deadline = deadline, .slot = slot}, CycleCount());
//   std::optional<OutstandingRequest> r = table.Take(7);   // the reply came
//   ...
//   std::vector<MessageHeader> replies = CompleteUnreplied(table.TakeAll(), PEER_DIED);
//
// Every request leaves the table exactly once: answered (Take), abandoned at its deadline
// or by Cancel (Abandon: the id stays known so a late reply is dropped, not mistaken for a
// protocol violation, and a buffer lent with it is reclaimed only then), or completed for a
// peer that died (TakeAll + CompleteUnreplied).
//
// CompleteUnreplied is used both by an end that sees its peer vanish and by the broker,
// which writes the replies it returns into the survivor's inbound ring.
//
// With a mirror (mirror_format.h), the table keeps one MirrorSlot per request (outstanding
// or abandoned) up to date in shared memory, so the broker can answer for a vanished peer.
// Then at most kMirrorSlots requests may be in the table at once (full()).
//
// Thread safety: not thread-safe; the owning end serializes access.

#ifndef SYSLINK_SYSLINK_INTERNAL_OUTSTANDING_H_
#define SYSLINK_SYSLINK_INTERNAL_OUTSTANDING_H_

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "syslink/internal/id_map.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"

namespace syslink::internal {

// A DMA buffer of this end lent with a request or a reply.
struct Loan {
  uint64_t offset = 0;
  uint64_t length = 0;  // bytes lent (for kFlagDmaFromTarget: the most the peer may fill)
  uint16_t flag = 0;    // kFlagDmaToTarget, kFlagDmaFromTarget or kFlagDmaReplyBuffer
};

struct OutstandingRequest {
  uint64_t id = 0;
  uint32_t command = 0;
  absl::Time deadline = absl::InfiniteFuture();
  std::optional<Loan> loan;
  uint32_t slot = 0;  // its mirror slot (Mirror()'s answer)
};

class OutstandingRequests {
 public:
  // `mirror` (kMirrorSlots slots in shared memory, written only by this table) may be null.
  explicit OutstandingRequests(MirrorSlot* mirror = nullptr);

  // True when a mirrored table has no free slot: a sender must wait.
  bool full() const { return mirror_ != nullptr && free_slots_.empty(); }

  // The mirror slot the next Mirror() fills (0 without a mirror); the request's header names
  // it so that the target can watch it. Only when not full().
  uint32_t next_slot() const { return mirror_ != nullptr ? free_slots_.back() : 0; }

  // A request is added in two steps, for a sender that publishes it in between; its id
  // (non-zero) must not be outstanding already, and the table not full(). Mirror() fills
  // next_slot() and returns it: the target may look at the slot as soon as the request is
  // published. `sent_cycles` may be a CycleCount() from a little earlier. Track() enters the
  // request (its `slot` set to Mirror()'s answer) in the table, before any reply can be
  // read, and gives the slot the exact `sent_cycles`.
  uint32_t Mirror(uint64_t id, uint32_t command, uint64_t dma_bytes, uint64_t sent_cycles);
  void Track(OutstandingRequest request, uint64_t sent_cycles);

  // The outstanding request `id`, left in place; null if there is none.
  const OutstandingRequest* Find(uint64_t id) const;

  // Removes and returns request `id`, if it is outstanding.
  std::optional<OutstandingRequest> Take(uint64_t id);

  // Removes request `id`, answered; false if it is not outstanding. Take() without the copy.
  bool Complete(uint64_t id);

  // Removes request `id` but remembers it as abandoned, keeping its loan until the late
  // reply comes (TakeAbandoned) or the peer is gone (TakeAllAbandoned). Its mirror slot
  // stays filled and is marked kMirrorGivenUp.
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

  // Removes every outstanding request, in order of id; abandoned ones are returned by
  // TakeAllAbandoned.
  std::vector<OutstandingRequest> TakeAll();
  std::vector<Loan> TakeAllAbandoned();

  bool Contains(uint64_t id) const { return requests_.Contains(id); }
  size_t size() const { return requests_.size(); }
  size_t abandoned() const { return abandoned_.size(); }

 private:
  struct Abandoned {
    std::optional<Loan> loan;
    uint32_t slot = 0;
  };
  // Removes `request` (an entry of requests_) from the outstanding set, leaving its mirror
  // slot alone.
  void Remove(const OutstandingRequest& request);
  void ClearSlot(uint32_t slot);

  IdMap<OutstandingRequest> requests_;
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;  // finite deadlines only
  IdMap<Abandoned> abandoned_;
  MirrorSlot* mirror_;
  std::vector<uint32_t> free_slots_;
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
