#include "syslink/internal/outstanding.h"

#include <algorithm>

namespace syslink::internal {

OutstandingRequests::OutstandingRequests(MirrorSlot* mirror) : mirror_(mirror) {
  free_slots_.reserve(kMirrorSlots);
  for (uint32_t slot = kMirrorSlots; slot > 0; --slot) free_slots_.push_back(slot - 1);
}

std::optional<OutstandingRequest> OutstandingRequests::Take(uint64_t id) {
  const OutstandingRequest* request = Find(id);
  if (request == nullptr) return std::nullopt;
  OutstandingRequest taken = *request;
  Complete(id);
  return taken;
}

std::optional<OutstandingRequest> OutstandingRequests::Abandon(uint64_t id) {
  Entry* entry = EntryOf(id, State::kOutstanding);
  if (entry == nullptr) return std::nullopt;
  ForgetDeadline(entry->request);
  // The slot stays taken: the broker may still answer the request, and that answer (or the
  // late real one) is what finally frees it.
  entry->state = State::kAbandoned;
  --outstanding_;
  ++abandoned_;
  // Tells the target that nobody waits for the answer any more (RequestWatch).
  if (mirror_ != nullptr) {
    mirror_[MirrorSlotOf(id)].state.store(kMirrorGivenUp, std::memory_order_release);
  }
  return entry->request;
}

std::optional<std::optional<Loan>> OutstandingRequests::TakeAbandoned(uint64_t id) {
  Entry* entry = EntryOf(id, State::kAbandoned);
  if (entry == nullptr) return std::nullopt;
  std::optional<Loan> loan = entry->request.loan;
  --abandoned_;
  Free(*entry);
  return loan;
}

std::vector<uint64_t> OutstandingRequests::Expired(absl::Time now) const {
  std::vector<uint64_t> ids;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it) {
    ids.push_back(it->second);
  }
  return ids;
}

std::vector<OutstandingRequest> OutstandingRequests::TakeAll() {
  std::vector<OutstandingRequest> all;
  all.reserve(outstanding_);
  for (Entry& entry : entries_) {
    if (entry.state != State::kOutstanding) continue;
    all.push_back(entry.request);
    Free(entry);
  }
  std::sort(all.begin(), all.end(),
            [](const OutstandingRequest& a, const OutstandingRequest& b) { return a.id < b.id; });
  outstanding_ = 0;
  deadlines_.clear();
  return all;
}

std::vector<Loan> OutstandingRequests::TakeAllAbandoned() {
  std::vector<Loan> loans;
  for (Entry& entry : entries_) {
    if (entry.state != State::kAbandoned) continue;
    if (entry.request.loan) loans.push_back(*entry.request.loan);
    Free(entry);
  }
  abandoned_ = 0;
  return loans;
}

std::vector<MessageHeader> CompleteUnreplied(std::span<const Unreplied> requests,
                                             absl::StatusCode code) {
  std::vector<MessageHeader> replies;
  replies.reserve(requests.size());
  for (const Unreplied& request : requests) {
    MessageHeader reply = NewHeader(MessageKind::kReply, request.id, request.command);
    reply.flags = kFlagSynthetic;
    reply.status = static_cast<int32_t>(code);
    replies.push_back(reply);
  }
  return replies;
}

}  // namespace syslink::internal
