#include "tests/link_peer_testing.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "syslink/end_transfer.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"

namespace syslink::testing {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

bool MatchesPattern(std::span<const std::byte> bytes, uint64_t seed) {
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word = Mix(seed + i);
    if (std::memcmp(bytes.data() + i, &word, std::min<size_t>(8, bytes.size() - i)) != 0) {
      return false;
    }
  }
  return true;
}

std::optional<DmaParams> ParamsOf(std::span<const std::byte> data) {
  if (data.size() < sizeof(DmaParams)) return std::nullopt;
  DmaParams params;
  std::memcpy(&params, data.data(), sizeof(params));
  return params;
}

absl::Status Answer(Link& end, const Message& request) {
  std::optional<DmaParams> params = ParamsOf(request.data);
  switch (request.command) {
    case kEcho:
      return end.Reply(request.id, absl::OkStatus(), request.data);
    case kAck:
      return end.Reply(request.id, absl::OkStatus(), {});
    case kCheckToTarget:
      if (!params || request.dma_direction != DmaDirection::kToTarget ||
          !MatchesPattern(request.peer_buffer.data(), params->seed)) {
        return end.Reply(request.id, absl::DataLossError("the to-target buffer is not as sent"),
                         {});
      }
      return end.Reply(request.id, absl::OkStatus(), request.data);
    case kFillFromTarget:
      if (!params || request.dma_direction != DmaDirection::kFromTarget ||
          params->fill > request.peer_buffer.size()) {
        return end.Reply(request.id, absl::InvalidArgumentError("no buffer to fill"), {});
      }
      FillPattern(request.peer_buffer.data().first(params->fill), params->seed);
      return end.Reply(request.id, absl::OkStatus(), request.data,
                       {.filled = params->fill, .attach = {}});
  }
  return end.Reply(request.id, absl::UnimplementedError("unknown command"), {});
}

}  // namespace

void FillPattern(std::span<std::byte> bytes, uint64_t seed) {
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word = Mix(seed + i);
    std::memcpy(bytes.data() + i, &word, std::min<size_t>(8, bytes.size() - i));
  }
}

bool SameBytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void ExpectArenaWhole(const Link& link) {
  LinkStats stats = link.stats();
  EXPECT_EQ(stats.arena_free_bytes, stats.arena_bytes);
}

int Serve(Link& end, int64_t max_replies) {
  for (int64_t n = 0;; ++n) {
    absl::StatusOr<Message> request = end.Receive(absl::Now() + kChildPatience);
    if (!request.ok()) return IsPeerDied(request.status()) ? kOk : kReceiveFailed;
    if (request->kind != MessageKind::kRequest) return kNotARequest;
    if (request->command == kQuit) {
      return end.Reply(request->id, absl::OkStatus(), {}).ok() ? kOk : kReplyFailed;
    }
    if (n >= max_replies) continue;  // held: never answered
    if (!Answer(end, *request).ok()) return kReplyFailed;
  }
}

ChildProcess ForkWithEnd(Link end, Link& keep, const std::function<int(const std::string&)>& body) {
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(end));
  EXPECT_TRUE(token.ok()) << token.status();
  const std::string text = token.ok() ? *token : "";
  ChildProcess child = ChildProcess::Fork([&] {
    keep.Close();
    return body(text);
  });
  if (token.ok()) CloseReleasedEnd(*token);
  return child;
}

ChildProcess ForkPeer(Link end, Link& keep, const std::function<int(Link&)>& serve) {
  return ForkWithEnd(std::move(end), keep, [&](const std::string& token) {
    absl::StatusOr<Link> mine = AdoptEnd(token);
    if (!mine.ok()) return int{kAdoptFailed};
    return serve(*mine);
  });
}

absl::StatusOr<std::pair<SentRequest, DmaLoan>> RandomRequest(Link& link, std::mt19937_64& random,
                                                              size_t max_inline, size_t max_dma,
                                                              int dma_percent) {
  SentRequest sent;
  DmaLoan loan;
  sent.params.seed = random();
  size_t inline_size = random() % (max_inline + 1);
  if (static_cast<int>(random() % 100) < dma_percent) {
    const bool to_target = random() % 2 == 0;
    sent.command = to_target ? kCheckToTarget : kFillFromTarget;
    sent.dma_size = 1 + random() % max_dma;
    absl::StatusOr<DmaBuffer> buffer = link.AllocateBuffer(sent.dma_size);
    if (!buffer.ok()) return buffer.status();
    if (to_target) {
      FillPattern(buffer->data(), sent.params.seed);
    } else {
      sent.params.fill = random() % (sent.dma_size + 1);
    }
    loan = {*std::move(buffer), to_target ? DmaDirection::kToTarget : DmaDirection::kFromTarget};
    inline_size = std::max(inline_size, sizeof(DmaParams));
  }
  sent.data.resize(inline_size);
  FillPattern(sent.data, sent.params.seed + 1);
  if (sent.dma_size > 0) std::memcpy(sent.data.data(), &sent.params, sizeof(DmaParams));
  return std::make_pair(std::move(sent), std::move(loan));
}

void ExpectAnswers(const SentRequest& sent, const Message& reply) {
  ASSERT_TRUE(reply.status.ok()) << reply.status;
  EXPECT_FALSE(reply.synthetic);
  EXPECT_TRUE(SameBytes(reply.data, sent.data))
      << "the inline payload came back changed: " << reply.data.size() << " bytes, sent "
      << sent.data.size();
  if (sent.command == kCheckToTarget) {
    ASSERT_TRUE(reply.returned_buffer.valid()) << "the lent buffer did not come back";
    EXPECT_EQ(reply.returned_buffer.size(), sent.dma_size);
    EXPECT_TRUE(MatchesPattern(reply.returned_buffer.data(), sent.params.seed))
        << "a to-target buffer changed";
  } else if (sent.command == kFillFromTarget) {
    ASSERT_TRUE(reply.returned_buffer.valid()) << "the lent buffer did not come back";
    EXPECT_EQ(reply.returned_buffer.size(), sent.params.fill);
    EXPECT_TRUE(MatchesPattern(reply.returned_buffer.data(), sent.params.seed))
        << "a from-target buffer does not hold what the peer wrote";
  } else {
    EXPECT_FALSE(reply.returned_buffer.valid());
  }
}

}  // namespace syslink::testing
