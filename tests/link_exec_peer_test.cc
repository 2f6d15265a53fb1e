// A link to tests/link_peer after exec(), its end sent over a Unix socket (SendEnd:
// SCM_RIGHTS), in every wait mode. The peer answers calls with inline and DMA payloads,
// exits in the middle of calls or is killed with SIGKILL; the calls it never answered
// complete with PEER_DIED, with their buffers back, and the test records how long that
// took.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"
#include "syslink/end_transfer.h"
#include "syslink/link.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::ExpectArenaWhole;
using ::syslink::testing::FillPattern;
using ::syslink::testing::kPatience;
using ::syslink::testing::MakePair;
using ::syslink::testing::ModeName;
using ::syslink::testing::Options;
using ::syslink::testing::SameBytes;
using ::syslink::testing::Soon;

// tests/link_peer's commands; tests/link_peer.cc documents them.
enum PeerCommand : uint32_t {
  kPeerEcho = 1,
  kPeerSum = 2,
  kPeerFill = 3,  // byte i = i % 251
  kPeerExit = 4,
  kPeerQuickExit = 5,
  kPeerHold = 6,
};

// Tests run in their runfiles root, where the binary is tests/link_peer.
std::string LinkPeerPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access("tests/link_peer", X_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/tests/link_peer");
  }
  return "tests/link_peer";
}

// What a test keeps of a message once the next Receive() has invalidated its data.
struct KeptReply {
  absl::Status status;
  bool synthetic = false;
  std::string data;
  DmaBuffer returned_buffer;
};

// Joins a thread that reaps `pid`, killing `pid` first when the test ends early.
class ReaperGuard {
 public:
  ReaperGuard(std::thread& thread, pid_t pid) : thread_(thread), pid_(pid) {}
  ~ReaperGuard() {
    if (!thread_.joinable()) return;
    ::kill(pid_, SIGKILL);
    thread_.join();
  }

 private:
  std::thread& thread_;
  pid_t pid_;
};

class ExecPeerTest : public ::testing::TestWithParam<ring::WaitMode> {
 protected:
  void SetUp() override {
    int sockets[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets), 0);
    UniqueFd ours(sockets[0]), theirs(sockets[1]);
    const std::string path = LinkPeerPath();
    const std::string fd = absl::StrCat(theirs.get());
    peer_.emplace(ChildProcess::Fork([&] {
      // Only the socket named in argv survives exec().
      if (fcntl(theirs.get(), F_SETFD, 0) != 0) return 126;
      execl(path.c_str(), path.c_str(), fd.c_str(), static_cast<char*>(nullptr));
      return 127;
    }));
    theirs.Reset();
    LinkPair pair = MakePair(Options(GetParam()));
    link_ = std::move(pair.first);
    absl::Status sent = SendEnd(ours.get(), std::move(pair.second));
    ASSERT_TRUE(sent.ok()) << sent;
  }

  // Sends requests of which `exit_command` makes the peer exit, and checks that those it
  // never answered complete with PEER_DIED, with their buffers back.
  void ExpectUnansweredCompleteWithPeerDied(uint32_t exit_command);

  std::optional<ChildProcess> peer_;
  Link link_;
};

TEST_P(ExecPeerTest, CallsWorkAcrossExec) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{4000}, size_t{100'000}}) {
    std::vector<std::byte> data(size);
    FillPattern(data, size);
    absl::StatusOr<Message> echo = link_.Call(kPeerEcho, data, {}, Soon());
    ASSERT_TRUE(echo.ok()) << echo.status();
    ASSERT_TRUE(echo->status.ok()) << echo->status;
    EXPECT_TRUE(SameBytes(echo->data, data)) << size << " bytes";
  }
  {
    absl::StatusOr<DmaBuffer> out = link_.AllocateBuffer(100'000);
    ASSERT_TRUE(out.ok()) << out.status();
    FillPattern(out->data(), 77);
    uint64_t expected = 0;
    for (std::byte b : out->data()) expected += static_cast<uint8_t>(b);
    absl::StatusOr<Message> sum =
        link_.Call(kPeerSum, {}, {*std::move(out), DmaDirection::kToTarget}, Soon());
    ASSERT_TRUE(sum.ok()) << sum.status();
    ASSERT_TRUE(sum->status.ok()) << sum->status;
    ASSERT_EQ(sum->data.size(), sizeof(uint64_t));
    uint64_t got;
    std::memcpy(&got, sum->data.data(), sizeof(got));
    EXPECT_EQ(got, expected);
    EXPECT_EQ(sum->returned_buffer.size(), 100'000u);
  }
  {
    absl::StatusOr<DmaBuffer> in = link_.AllocateBuffer(kDefaultMaxDmaSize);
    ASSERT_TRUE(in.ok()) << in.status();
    absl::StatusOr<Message> fill =
        link_.Call(kPeerFill, {}, {*std::move(in), DmaDirection::kFromTarget}, Soon());
    ASSERT_TRUE(fill.ok()) << fill.status();
    ASSERT_TRUE(fill->status.ok()) << fill->status;
    ASSERT_EQ(fill->returned_buffer.size(), kDefaultMaxDmaSize);
    size_t wrong = 0;
    std::span<std::byte> bytes = fill->returned_buffer.data();
    for (size_t i = 0; i < bytes.size(); ++i) wrong += bytes[i] != std::byte(i % 251);
    EXPECT_EQ(wrong, 0u);
  }
  absl::StatusOr<Message> unknown = link_.Call(99, {}, {}, Soon());
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->status.code(), absl::StatusCode::kUnimplemented);
  ExpectArenaWhole(link_);
  link_.Close();  // the peer sees PEER_DIED and exits 0
  EXPECT_EQ(peer_->WaitFor(kPatience), ChildProcess::Exited(0));
}

// The largest inline payload the link documents (ring_capacity - 64 bytes) takes the whole
// ring, so the ring must be drained to its very end first, padding included.
TEST_P(ExecPeerTest, LargestInlinePayloadIsEchoed) {
  absl::StatusOr<Message> small = link_.Call(kPeerEcho, AsBytes("first"), {}, Soon());
  ASSERT_TRUE(small.ok()) << small.status();
  std::vector<std::byte> data(link_.options().ring_capacity - 2 * ring::kRecordHeaderSize -
                              kMessageHeaderSize);
  FillPattern(data, 3);
  // Send and Receive rather than Call: Call waits for ring space without a deadline.
  absl::StatusOr<uint64_t> id = link_.Send(kPeerEcho, data, {}, Soon());
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<Message> echo = link_.Receive(Soon());
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->id, *id);
  ASSERT_TRUE(echo->status.ok()) << echo->status;
  EXPECT_TRUE(SameBytes(echo->data, data));
}

void ExecPeerTest::ExpectUnansweredCompleteWithPeerDied(uint32_t exit_command) {
  absl::StatusOr<DmaBuffer> to_target = link_.AllocateBuffer(64 * 1024);
  absl::StatusOr<DmaBuffer> from_target = link_.AllocateBuffer(64 * 1024);
  ASSERT_TRUE(to_target.ok() && from_target.ok());
  std::memset(to_target->data().data(), 1, to_target->size());
  // Answered before the exit:
  absl::StatusOr<uint64_t> echo = link_.Send(kPeerEcho, AsBytes("before"));
  absl::StatusOr<uint64_t> sum =
      link_.Send(kPeerSum, {}, {*std::move(to_target), DmaDirection::kToTarget});
  // Never answered:
  const absl::Time exit_sent = absl::Now();
  absl::StatusOr<uint64_t> exit = link_.Send(exit_command, {});
  absl::StatusOr<uint64_t> after = link_.Send(kPeerEcho, AsBytes("after"));
  absl::StatusOr<uint64_t> fill =
      link_.Send(kPeerFill, {}, {*std::move(from_target), DmaDirection::kFromTarget});
  ASSERT_TRUE(echo.ok() && sum.ok() && exit.ok() && after.ok() && fill.ok());

  std::string how_it_ended;
  absl::Time ended;
  std::thread reaper([&] {
    how_it_ended = peer_->Wait();
    ended = absl::Now();
  });
  ReaperGuard guard(reaper, peer_->pid());
  std::map<uint64_t, KeptReply> replies;
  while (replies.size() < 5) {
    absl::StatusOr<Message> reply = link_.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status() << " after " << replies.size() << " replies";
    KeptReply kept{reply->status, reply->synthetic, reply->DataAsString(),
                   std::move(reply->returned_buffer)};
    ASSERT_TRUE(replies.emplace(reply->id, std::move(kept)).second)
        << "a second reply to request " << reply->id;
  }
  const absl::Time completed = absl::Now();
  absl::StatusOr<Message> closed = link_.Receive(Soon());
  EXPECT_TRUE(IsPeerDied(closed.status())) << closed.status();
  reaper.join();
  EXPECT_EQ(how_it_ended, ChildProcess::Exited(0));

  EXPECT_TRUE(replies[*echo].status.ok()) << replies[*echo].status;
  EXPECT_EQ(replies[*echo].data, "before");
  ASSERT_TRUE(replies[*sum].status.ok()) << replies[*sum].status;
  uint64_t total = 0;
  ASSERT_EQ(replies[*sum].data.size(), sizeof(total));
  std::memcpy(&total, replies[*sum].data.data(), sizeof(total));
  EXPECT_EQ(total, 64u * 1024);
  for (uint64_t id : {*exit, *after, *fill}) {
    EXPECT_TRUE(IsPeerDied(replies[id].status)) << "request " << id << ": " << replies[id].status;
    EXPECT_EQ(replies[id].status.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(replies[id].synthetic);
  }
  EXPECT_TRUE(replies[*fill].returned_buffer.valid()) << "the lent buffer did not come back";
  replies.clear();
  ExpectArenaWhole(link_);
  // The socket closes before the kernel lets the parent reap the peer, so the replies may
  // complete before `ended`: a negative latency.
  RecordProperty("peer_died_after_reap_us",
                 absl::StrCat(absl::ToInt64Microseconds(completed - ended)));
  EXPECT_LT(completed - exit_sent, absl::Seconds(2)) << "PEER_DIED took too long";
}

TEST_P(ExecPeerTest, PeerThatExitsMidCallCompletesOutstandingCallsWithPeerDied) {
  ExpectUnansweredCompleteWithPeerDied(kPeerExit);
}

TEST_P(ExecPeerTest, PeerThatQuickExitsMidCallCompletesOutstandingCallsWithPeerDied) {
  ExpectUnansweredCompleteWithPeerDied(kPeerQuickExit);
}

TEST_P(ExecPeerTest, PeerKilledMidCallCompletesOutstandingCallsWithPeerDied) {
  absl::StatusOr<DmaBuffer> lent = link_.AllocateBuffer(64 * 1024);
  ASSERT_TRUE(lent.ok());
  absl::StatusOr<uint64_t> held = link_.Send(kPeerHold, AsBytes("held"));
  absl::StatusOr<uint64_t> held_with_buffer =
      link_.Send(kPeerHold, {}, {*std::move(lent), DmaDirection::kFromTarget});
  ASSERT_TRUE(held.ok() && held_with_buffer.ok());
  // The peer answers requests in order: once this call returns, it holds both.
  absl::StatusOr<Message> sync = link_.Call(kPeerEcho, AsBytes("sync"), {}, Soon());
  ASSERT_TRUE(sync.ok() && sync->status.ok());

  const absl::Time killed = absl::Now();
  peer_->Kill(SIGKILL);
  std::set<uint64_t> died;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Message> reply = link_.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(IsPeerDied(reply->status)) << reply->status;
    EXPECT_TRUE(reply->synthetic);
    EXPECT_EQ(reply->returned_buffer.valid(), reply->id == *held_with_buffer);
    died.insert(reply->id);
  }
  const absl::Duration latency = absl::Now() - killed;
  EXPECT_EQ(died, (std::set<uint64_t>{*held, *held_with_buffer}));
  EXPECT_TRUE(IsPeerDied(link_.Receive(Soon()).status()));
  EXPECT_EQ(peer_->WaitFor(kPatience), ChildProcess::KilledBy(SIGKILL));
  ExpectArenaWhole(link_);
  RecordProperty("peer_died_after_kill_us", absl::StrCat(absl::ToInt64Microseconds(latency)));
  EXPECT_LT(latency, absl::Seconds(2)) << "PEER_DIED took too long";
}

INSTANTIATE_TEST_SUITE_P(AllModes, ExecPeerTest,
                         ::testing::Values(ring::WaitMode::kSpin, ring::WaitMode::kHybrid,
                                           ring::WaitMode::kBlocking),
                         ModeName);

}  // namespace
}  // namespace syslink
