// A forked peer killed with SIGKILL at random moments, 200 times, with 64 requests in
// flight each time: every request gets exactly one reply, real or PEER_DIED, every lent
// buffer comes back, and no descriptor leaks.

#include <signal.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ring/wait_mode.h"
#include "syslink/link.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::ExpectAnswers;
using ::syslink::testing::ExpectArenaWhole;
using ::syslink::testing::ForkPeer;
using ::syslink::testing::kPatience;
using ::syslink::testing::MakePair;
using ::syslink::testing::Options;
using ::syslink::testing::RandomRequest;
using ::syslink::testing::SentRequest;
using ::syslink::testing::Serve;
using ::syslink::testing::Soon;

int OpenDescriptorCount() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

struct KillTally {
  int real_replies = 0;
  int peer_died = 0;
};

// One round: 64 requests in flight to a forked peer that answers a random number of them,
// killed after a random delay. Every request gets exactly one reply, real or PEER_DIED.
void RunKillRound(int round, std::mt19937_64& random, KillTally& tally) {
  constexpr int kInFlight = 64;
  constexpr ring::WaitMode kModes[] = {ring::WaitMode::kHybrid, ring::WaitMode::kSpin,
                                       ring::WaitMode::kBlocking};
  LinkPair pair = MakePair(Options(kModes[round % 3], 64 * 1024, 2 * 1024 * 1024));
  Link client = std::move(pair.first);
  const auto answered = static_cast<int64_t>(random() % (kInFlight + 1));
  ChildProcess server = ForkPeer(std::move(pair.second), client,
                                 [answered](Link& end) { return Serve(end, answered); });
  std::map<uint64_t, SentRequest> sent;
  for (int i = 0; i < kInFlight; ++i) {
    auto request = RandomRequest(client, random, 256, 32 * 1024, 40);
    ASSERT_TRUE(request.ok()) << request.status();
    auto& [remembered, loan] = *request;
    absl::StatusOr<uint64_t> id =
        client.Send(remembered.command, remembered.data, std::move(loan), Soon());
    ASSERT_TRUE(id.ok()) << id.status();
    sent.emplace(*id, std::move(remembered));
  }
  absl::SleepFor(absl::Microseconds(random() % 2001));
  server.Kill(SIGKILL);

  std::set<uint64_t> replied;
  while (replied.size() < sent.size()) {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status() << " after " << replied.size() << " of "
                            << sent.size() << " replies";
    ASSERT_EQ(reply->kind, MessageKind::kReply);
    auto it = sent.find(reply->id);
    ASSERT_NE(it, sent.end()) << "a reply to request " << reply->id << ", never sent";
    ASSERT_TRUE(replied.insert(reply->id).second) << "a second reply to request " << reply->id;
    if (reply->synthetic) {
      EXPECT_TRUE(IsPeerDied(reply->status)) << reply->status;
      EXPECT_EQ(reply->returned_buffer.valid(), it->second.dma_size > 0);
      ++tally.peer_died;
    } else {
      ExpectAnswers(it->second, *reply);
      ++tally.real_replies;
    }
  }
  absl::StatusOr<Message> closed = client.Receive(Soon());
  EXPECT_TRUE(IsPeerDied(closed.status())) << closed.status();
  EXPECT_EQ(client.stats().outstanding, 0u);
  ExpectArenaWhole(client);
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::KilledBy(SIGKILL));
}

TEST(KilledPeerTest, EveryRequestGetsExactlyOneReplyWhenThePeerIsKilledAtRandom) {
  constexpr int kRounds = 200;
  const int descriptors = OpenDescriptorCount();
  std::mt19937_64 random(2024);
  KillTally tally;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    RunKillRound(round, random, tally);
    ASSERT_EQ(OpenDescriptorCount(), descriptors) << "descriptors leaked";
    if (HasFailure()) break;
  }
  RecordProperty("real_replies", tally.real_replies);
  RecordProperty("peer_died_replies", tally.peer_died);
  // The rounds covered both kinds of reply: answers that came before the kill, and
  // PEER_DIED for the requests the peer held or never got to.
  EXPECT_GT(tally.real_replies, 0);
  EXPECT_GT(tally.peer_died, 0);
}

}  // namespace
}  // namespace syslink
