#include "syslink/internal/outstanding.h"

#include <algorithm>

namespace syslink::internal {

void OutstandingRequests::Add(OutstandingRequest request) {
  if (request.deadline != absl::InfiniteFuture()) {
    deadlines_.emplace(request.deadline, request.id);
  }
  uint64_t id = request.id;
  requests_.emplace(id, std::move(request));
}

std::optional<OutstandingRequest> OutstandingRequests::Take(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  OutstandingRequest request = std::move(it->second);
  requests_.erase(it);
  if (request.deadline != absl::InfiniteFuture()) deadlines_.erase({request.deadline, id});
  return request;
}

std::optional<OutstandingRequest> OutstandingRequests::Abandon(uint64_t id) {
  std::optional<OutstandingRequest> request = Take(id);
  if (request) abandoned_.emplace(id, request->loan);
  return request;
}

std::optional<std::optional<Loan>> OutstandingRequests::TakeAbandoned(uint64_t id) {
  auto it = abandoned_.find(id);
  if (it == abandoned_.end()) return std::nullopt;
  std::optional<Loan> loan = it->second;
  abandoned_.erase(it);
  return loan;
}

absl::Time OutstandingRequests::NextDeadline() const {
  return deadlines_.empty() ? absl::InfiniteFuture() : deadlines_.begin()->first;
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
  for (auto& [id, request] : requests_) all.push_back(std::move(request));
  std::sort(all.begin(), all.end(), [](const OutstandingRequest& a, const OutstandingRequest& b) {
    return a.id < b.id;
  });
  requests_.clear();
  deadlines_.clear();
  return all;
}

std::vector<Loan> OutstandingRequests::TakeAllAbandoned() {
  std::vector<Loan> loans;
  for (auto& [id, loan] : abandoned_) {
    if (loan) loans.push_back(*loan);
  }
  abandoned_.clear();
  return loans;
}

std::vector<MessageHeader> CompleteUnreplied(std::span<const Unreplied> requests,
                                             absl::StatusCode code) {
  std::vector<MessageHeader> replies;
  replies.reserve(requests.size());
  for (const Unreplied& request : requests) {
    MessageHeader reply{};
    reply.magic = kMessageMagic;
    reply.version = kMessageVersion;
    reply.kind = static_cast<uint8_t>(MessageKind::kReply);
    reply.flags = kFlagSynthetic;
    reply.message_id = request.id;
    reply.command = request.command;
    reply.status = static_cast<int32_t>(code);
    replies.push_back(reply);
  }
  return replies;
}

}  // namespace syslink::internal
