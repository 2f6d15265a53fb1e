// A link to a forked child that adopted its end (ReleaseForChild + AdoptEnd) and answers
// thousands of calls, in every wait mode: random inline and DMA payloads, a request ring
// kept full while echoes pass through it, and a call that gives up at its deadline on a
// ring that stays full.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ring/wait_mode.h"
#include "syslink/link.h"
#include "syslink/msg_format.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::ExpectAnswers;
using ::syslink::testing::ExpectArenaWhole;
using ::syslink::testing::FillPattern;
using ::syslink::testing::ForkPeer;
using ::syslink::testing::kAck;
using ::syslink::testing::kEcho;
using ::syslink::testing::kOk;
using ::syslink::testing::kPatience;
using ::syslink::testing::kQuit;
using ::syslink::testing::MakePair;
using ::syslink::testing::ModeName;
using ::syslink::testing::Options;
using ::syslink::testing::RandomRequest;
using ::syslink::testing::SameBytes;
using ::syslink::testing::Serve;
using ::syslink::testing::Soon;

// Where `got` first differs from `sent`, for a failure message.
std::string DescribeDifference(uint64_t id, std::span<const std::byte> got,
                               std::span<const std::byte> sent) {
  size_t i = 0;
  while (i < got.size() && i < sent.size() && got[i] == sent[i]) ++i;
  size_t differing = 0;
  for (size_t j = i; j < std::min(got.size(), sent.size()); ++j) differing += got[j] != sent[j];
  return absl::StrCat("reply ", id, " has ", got.size(), " bytes, sent ", sent.size(),
                      "; first difference at byte ", i, ", ", differing, " bytes differ");
}

class ForkedPeerTest : public ::testing::TestWithParam<ring::WaitMode> {};

TEST_P(ForkedPeerTest, TenThousandCallsWithRandomInlineAndDmaPayloads) {
  constexpr int kCalls = 10'000;
  LinkPair pair = MakePair(Options(GetParam()));
  Link client = std::move(pair.first);
  ChildProcess server =
      ForkPeer(std::move(pair.second), client, [](Link& end) { return Serve(end); });
  std::mt19937_64 random(1000 + static_cast<int>(GetParam()));
  int with_dma = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto request = RandomRequest(client, random, 4000, kDefaultMaxDmaSize, 25);
    ASSERT_TRUE(request.ok()) << "call " << i << ": " << request.status();
    auto& [sent, loan] = *request;
    with_dma += sent.dma_size > 0;
    absl::StatusOr<Message> reply = client.Call(sent.command, sent.data, std::move(loan), Soon());
    ASSERT_TRUE(reply.ok()) << "call " << i << ": " << reply.status();
    ExpectAnswers(sent, *reply);
    if (HasFailure()) FAIL() << "at call " << i << " (command " << sent.command << ")";
  }
  absl::StatusOr<Message> quit = client.Call(kQuit, {}, {}, Soon());
  ASSERT_TRUE(quit.ok()) << quit.status();
  EXPECT_TRUE(quit->status.ok()) << quit->status;
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
  ExpectArenaWhole(client);
  RecordProperty("calls_with_dma", with_dma);
}

// A small request ring that the parent keeps full of large requests (answered with an
// empty reply), with small echo requests between them: as soon as the peer frees a
// request's space, the parent writes the next request there. Every echo must still carry
// the bytes that were sent, as Message::data is documented to stay valid until the next
// Receive() or Call().
TEST_P(ForkedPeerTest, PipelinedEchoesStayIntactWhileTheRequestRingIsFull) {
  constexpr int kRequests = 200'000;
  // Replies take at most 80 bytes of ring each, so this many always fit the 4 KiB reply
  // ring and the peer never waits for room: no deadlock, however full the request ring.
  constexpr size_t kMaxInFlight = 40;
  LinkPair pair = MakePair(Options(GetParam(), /*ring_capacity=*/4096));
  Link client = std::move(pair.first);
  ChildProcess server =
      ForkPeer(std::move(pair.second), client, [](Link& end) { return Serve(end); });
  std::mt19937_64 random(7);
  std::map<uint64_t, std::vector<std::byte>> in_flight;  // echoes: what was sent
  int sent = 0, echoes = 0, corrupted = 0;
  std::string first_corruption;
  while (sent < kRequests || !in_flight.empty()) {
    if (sent < kRequests && in_flight.size() < kMaxInFlight) {
      const bool echo = random() % 2 == 0;
      std::vector<std::byte> data(echo ? 1 + random() % 24 : 200 + random() % 1300);
      FillPattern(data, random());
      absl::StatusOr<uint64_t> id = client.Send(echo ? kEcho : kAck, data, {}, Soon());
      ASSERT_TRUE(id.ok()) << "request " << sent << ": " << id.status();
      in_flight.emplace(*id, echo ? std::move(data) : std::vector<std::byte>());
      ++sent;
      continue;
    }
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_TRUE(reply->status.ok()) << reply->status;
    auto it = in_flight.find(reply->id);
    ASSERT_NE(it, in_flight.end()) << "a reply to request " << reply->id;
    echoes += !it->second.empty();
    if (!SameBytes(reply->data, it->second) && corrupted++ == 0) {
      first_corruption = DescribeDifference(reply->id, reply->data, it->second);
    }
    in_flight.erase(it);
  }
  EXPECT_EQ(corrupted, 0) << "of " << echoes << " echo replies, " << corrupted
                          << " did not carry the bytes their request sent; the first: "
                          << first_corruption;
  ASSERT_TRUE(client.Call(kQuit, {}, {}, Soon()).ok());
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
}

// docs/links.md: Call()'s StatusOr fails when "the ring stayed full until the deadline".
// The call runs in a forked child, so that a call that never returns fails this test
// instead of hanging it.
TEST_P(ForkedPeerTest, CallGivesUpWhenTheRingStaysFullUntilItsDeadline) {
  LinkPair pair = MakePair(Options(GetParam(), /*ring_capacity=*/4096));
  Link reader = std::move(pair.second);  // never reads
  ChildProcess caller = ForkPeer(std::move(pair.first), reader, [](Link& end) {
    std::vector<std::byte> data(1000);
    while (end.Send(kEcho, data, {}, absl::Now() + absl::Milliseconds(20)).ok()) {
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<Message> reply = end.Call(kEcho, data, {}, start + absl::Milliseconds(100));
    if (absl::Now() - start > absl::Seconds(2)) return 1;
    if (reply.ok()) return 2;
    return absl::IsDeadlineExceeded(reply.status()) ? int{kOk} : 3;
  });
  EXPECT_EQ(caller.WaitFor(absl::Seconds(5)), ChildProcess::Exited(kOk))
      << "Call() with a 100 ms deadline on a full ring";
}

INSTANTIATE_TEST_SUITE_P(AllModes, ForkedPeerTest,
                         ::testing::Values(ring::WaitMode::kSpin, ring::WaitMode::kHybrid,
                                           ring::WaitMode::kBlocking),
                         ModeName);

}  // namespace
}  // namespace syslink
