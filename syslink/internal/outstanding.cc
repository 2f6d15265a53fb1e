#include "syslink/internal/outstanding.h"

#include <algorithm>

namespace syslink::internal {

OutstandingRequests::OutstandingRequests(MirrorSlot* mirror) : mirror_(mirror) {
  if (mirror_ == nullptr) return;
  free_slots_.reserve(kMirrorSlots);
  for (uint32_t slot = kMirrorSlots; slot > 0; --slot) free_slots_.push_back(slot - 1);
}

void OutstandingRequests::ClearSlot(uint32_t slot) {
  if (mirror_ == nullptr) return;
  mirror_[slot].id.store(0, std::memory_order_release);
  free_slots_.push_back(slot);
}

uint32_t OutstandingRequests::Mirror(uint64_t id, uint32_t command, uint64_t dma_bytes,
                                     uint64_t sent_cycles) {
  if (mirror_ == nullptr) return 0;
  const uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  MirrorSlot& slot = mirror_[index];
  slot.command = command;
  slot.state.store(0, std::memory_order_relaxed);
  slot.sent_cycles = sent_cycles;
  slot.dma_bytes = dma_bytes;
  slot.id.store(id, std::memory_order_release);  // last: the slot is complete
  return index;
}

void OutstandingRequests::Track(OutstandingRequest request, uint64_t sent_cycles) {
  if (mirror_ != nullptr) mirror_[request.slot].sent_cycles = sent_cycles;
  if (request.deadline != absl::InfiniteFuture()) {
    deadlines_.emplace(request.deadline, request.id);
  }
  *requests_.TryEmplace(request.id).first = std::move(request);
}

const OutstandingRequest* OutstandingRequests::Find(uint64_t id) const {
  return requests_.Find(id);
}

void OutstandingRequests::Remove(const OutstandingRequest& request) {
  const uint64_t id = request.id;
  if (request.deadline != absl::InfiniteFuture()) deadlines_.erase({request.deadline, id});
  requests_.Erase(id);  // last: `request` may be the entry itself
}

bool OutstandingRequests::Complete(uint64_t id) {
  const OutstandingRequest* request = Find(id);
  if (request == nullptr) return false;
  const uint32_t slot = request->slot;
  Remove(*request);
  ClearSlot(slot);
  return true;
}

std::optional<OutstandingRequest> OutstandingRequests::Take(uint64_t id) {
  const OutstandingRequest* request = Find(id);
  if (request == nullptr) return std::nullopt;
  OutstandingRequest taken = *request;
  Complete(id);
  return taken;
}

std::optional<OutstandingRequest> OutstandingRequests::Abandon(uint64_t id) {
  const OutstandingRequest* request = Find(id);
  if (request == nullptr) return std::nullopt;
  OutstandingRequest abandoned = *request;
  Remove(*request);
  // The mirror slot stays filled: the broker may still answer it, and that answer (or the
  // late real one) is what finally frees it.
  *abandoned_.TryEmplace(id).first = Abandoned{abandoned.loan, abandoned.slot};
  // Tells the target that nobody waits for the answer any more (RequestWatch).
  if (mirror_ != nullptr) {
    mirror_[abandoned.slot].state.store(kMirrorGivenUp, std::memory_order_release);
  }
  return abandoned;
}

std::optional<std::optional<Loan>> OutstandingRequests::TakeAbandoned(uint64_t id) {
  std::optional<Abandoned> abandoned = abandoned_.Take(id);
  if (!abandoned) return std::nullopt;
  ClearSlot(abandoned->slot);
  return abandoned->loan;
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
  all.reserve(requests_.size());
  requests_.ForEach([&](uint64_t, OutstandingRequest& request) {
    ClearSlot(request.slot);
    all.push_back(std::move(request));
  });
  std::sort(all.begin(), all.end(),
            [](const OutstandingRequest& a, const OutstandingRequest& b) { return a.id < b.id; });
  requests_.Clear();
  deadlines_.clear();
  return all;
}

std::vector<Loan> OutstandingRequests::TakeAllAbandoned() {
  std::vector<Loan> loans;
  abandoned_.ForEach([&](uint64_t, Abandoned& abandoned) {
    ClearSlot(abandoned.slot);
    if (abandoned.loan) loans.push_back(*abandoned.loan);
  });
  abandoned_.Clear();
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
