// Links between real processes. The peer is a forked child that adopted its end
// (ReleaseForChild + AdoptEnd), or tests/link_peer after exec(), sent its end over a Unix
// socket (SendEnd: SCM_RIGHTS). Peers answer thousands of calls, exit in the middle of
// calls, are killed with SIGKILL at random moments, and break the protocol on purpose by
// mapping the link's region themselves and writing into the ring their end produces.
//
// A forked child reports through its exit code (ChildExit), never through GoogleTest: it
// runs without the test framework (see tests/support/child_process.h).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "syslink/end_transfer.h"
#include "syslink/internal/link_layout.h"
#include "syslink/link.h"
#include "syslink/link_options.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Matcher;

// How long anything may take before the test calls it a hang.
constexpr absl::Duration kPatience = absl::Seconds(10);
// How long a child waits for the parent before giving up on it.
constexpr absl::Duration kChildPatience = absl::Seconds(60);

absl::Time Soon() { return absl::Now() + kPatience; }

// Exit codes of a forked child, so that a failure says where it happened.
enum ChildExit : int {
  kOk = 0,
  kAdoptFailed = 10,
  kReceiveFailed = 11,
  kNotARequest = 12,
  kReplyFailed = 13,
  kBadToken = 14,
  kMapFailed = 15,
  kAttachFailed = 16,
  kWriteFailed = 17,
  kLinkStayedOpen = 18,
  kCallNotRefused = 20,  // + the index of the first call that was not refused
};

LinkOptions Options(ring::WaitMode mode, uint64_t ring_capacity = 256 * 1024,
                    uint64_t arena_size = 4 * 1024 * 1024) {
  LinkOptions options;
  options.ring_capacity = ring_capacity;
  options.arena_size = arena_size;
  options.wait.mode = mode;
  return options;
}

LinkPair MakePair(const LinkOptions& options) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  EXPECT_TRUE(pair.ok()) << pair.status();
  return *std::move(pair);
}

std::string ModeName(const ::testing::TestParamInfo<ring::WaitMode>& info) {
  return std::string(ring::WaitModeName(info.param));
}

// Bytes that depend on a seed and on their position, so that a lost, shifted or foreign
// byte shows.
uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

void FillPattern(std::span<std::byte> bytes, uint64_t seed) {
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word = Mix(seed + i);
    std::memcpy(bytes.data() + i, &word, std::min<size_t>(8, bytes.size() - i));
  }
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

bool SameBytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

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

int OpenDescriptorCount() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

// ---- The forked peer: answers requests on an adopted end. ----------------------------

enum ForkedCommand : uint32_t {
  kEcho = 1,            // replies with the inline payload
  kCheckToTarget = 2,   // checks that the to-target buffer holds the pattern, then echoes
  kFillFromTarget = 3,  // fills `fill` bytes of the from-target buffer, then echoes
  kAck = 4,             // replies with nothing
  kQuit = 5,            // replies, then the child exits kOk
};

// The start of the inline payload of a DMA request to a forked peer.
struct DmaParams {
  uint64_t seed = 0;  // of the pattern in the buffer
  uint64_t fill = 0;  // kFillFromTarget: bytes to fill
};

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

// Answers the first `max_replies` requests and only reads the rest, until kQuit or until
// the link closes.
int Serve(Link& end, int64_t max_replies = std::numeric_limits<int64_t>::max()) {
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

// Hands `end` to a forked child: releases it, forks, and closes this process's copies of
// its descriptors. The child first closes its inherited copy of `keep` (the parent's end),
// as a process of its own would not hold it, then runs `body` with the token.
ChildProcess ForkWithEnd(Link end, Link& keep,
                         const std::function<int(const std::string&)>& body) {
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

// A request as the parent remembers it, to check its reply.
struct SentRequest {
  uint32_t command = kEcho;
  std::vector<std::byte> data;
  DmaParams params;
  size_t dma_size = 0;  // bytes lent; 0 if none
};

// Up to `max_inline` bytes of inline payload; with probability `dma_percent`%, a
// to-target or from-target buffer of up to `max_dma` bytes.
absl::StatusOr<std::pair<SentRequest, DmaLoan>> RandomRequest(Link& link,
                                                              std::mt19937_64& random,
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

// Checks a real reply of a forked peer against its request.
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

void ExpectArenaWhole(const Link& link) {
  LinkStats stats = link.stats();
  EXPECT_EQ(stats.arena_free_bytes, stats.arena_bytes);
}

// ---- (a) A forked peer answers many calls. --------------------------------------------

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

// ---- (b) tests/link_peer after exec(), its end sent over a Unix socket. ---------------

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

// The largest inline payload the link documents (ring_capacity - 56 bytes) takes the whole
// ring, so the ring must be drained to its very end first, padding included.
TEST_P(ExecPeerTest, LargestInlinePayloadIsEchoed) {
  absl::StatusOr<Message> small = link_.Call(kPeerEcho, AsBytes("first"), {}, Soon());
  ASSERT_TRUE(small.ok()) << small.status();
  std::vector<std::byte> data(link_.options().ring_capacity - ring::kRecordHeaderSize -
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

// ---- (c) kill -9 at random moments. ----------------------------------------------------

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
}

// ---- (d) Hostile peers. ----------------------------------------------------------------

// A hostile child's own hold on the link: a mapping of the region, and a producer on the
// ring its end writes. It keeps the end it adopted (and never uses it), so the end's
// socket stays open: the parent must blame the messages, not the peer's death.
class RawPeer {
 public:
  RawPeer(ring::SharedRegion region, const internal::LinkLayout& layout, int side, int socket)
      : region_(std::move(region)), layout_(layout), side_(side), socket_(socket) {}

  bool Attach(const ring::WaitOptions& wait) {
    absl::StatusOr<ring::RingProducer> producer = ring::RingProducer::Attach(Ring(side_), wait);
    if (!producer.ok()) return false;
    producer_.emplace(*std::move(producer));
    return true;
  }

  int side() const { return side_; }
  std::span<std::byte> Ring(int writer) const {
    return {region_.data() + layout_.RingOffset(writer), layout_.ring_bytes};
  }
  ring::RingControl& Control(int writer) const {
    return *reinterpret_cast<ring::RingControl*>(Ring(writer).data());
  }
  std::byte* Arena(int owner) const { return region_.data() + layout_.ArenaOffset(owner); }

  // Writes one record holding `payload` into this end's ring, publishes it and wakes the
  // parent.
  bool WriteRecord(std::span<const std::byte> payload) {
    absl::StatusOr<std::byte*> space = producer_->TryReserve(payload.size());
    if (!space.ok() || *space == nullptr) return false;
    if (!payload.empty()) std::memcpy(*space, payload.data(), payload.size());
    producer_->Commit(payload.size());
    producer_->Publish();
    Wake();
    return true;
  }

  // A record of `header` exactly as given (inline_length is not fixed up), then `data`.
  bool WriteMessage(const MessageHeader& header, std::span<const std::byte> data = {}) {
    std::vector<std::byte> record(kMessageHeaderSize + data.size());
    std::memcpy(record.data(), &header, kMessageHeaderSize);
    if (!data.empty()) std::memcpy(record.data() + kMessageHeaderSize, data.data(), data.size());
    return WriteRecord(record);
  }

  // Wakes a parent asleep in poll() on its socket, as the end's own producer would.
  void Wake() const {
    char byte = 'w';
    (void)send(socket_, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  }

 private:
  ring::SharedRegion region_;
  internal::LinkLayout layout_;
  int side_;
  int socket_;
  std::optional<ring::RingProducer> producer_;
};

using Attack = std::function<bool(RawPeer&)>;

// In a hostile child, after the attack: waits until the parent closes the link (its
// socket reports POLLHUP).
int WaitForLinkToClose(int socket) {
  const absl::Time give_up = absl::Now() + kChildPatience;
  while (absl::Now() < give_up) {
    struct pollfd p = {socket, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n > 0 && (p.revents & (POLLHUP | POLLERR))) return kOk;
    char bytes[64];
    while (n > 0 && recv(socket, bytes, sizeof(bytes), MSG_DONTWAIT) > 0) {
    }
  }
  return kLinkStayedOpen;
}

// The hostile child: adopts the end named by `token`, maps the region from the memfd the
// token names, attacks, and waits for the parent to close the link.
int RunHostilePeer(const std::string& token, const LinkOptions& options, const Attack& attack) {
  // prefix:socket:memfd:watch:side:...
  std::vector<std::string> fields = absl::StrSplit(token, ':');
  int socket = -1, memory = -1, side = -1;
  if (fields.size() < 5 || !absl::SimpleAtoi(fields[1], &socket) ||
      !absl::SimpleAtoi(fields[2], &memory) || !absl::SimpleAtoi(fields[4], &side)) {
    return kBadToken;
  }
  absl::StatusOr<Link> end = AdoptEnd(token);
  if (!end.ok()) return kAdoptFailed;
  internal::LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Map(UniqueFd(dup(memory)), layout.total_size);
  if (!region.ok()) return kMapFailed;
  RawPeer peer(*std::move(region), layout, side, socket);
  if (!peer.Attach(options.wait)) return kAttachFailed;
  if (!attack(peer)) return kWriteFailed;
  return WaitForLinkToClose(socket);
}

MessageHeader Header(MessageKind kind, uint64_t id, uint16_t flags = 0) {
  MessageHeader header{};
  header.magic = kMessageMagic;
  header.version = kMessageVersion;
  header.kind = static_cast<uint8_t>(kind);
  header.flags = flags;
  header.message_id = id;
  return header;
}

MessageHeader WithDma(MessageHeader header, uint64_t offset, uint64_t length) {
  header.dma_offset = offset;
  header.dma_length = length;
  return header;
}

// An attack that writes one message of `header` followed by `inline_bytes` bytes.
Attack Writes(MessageHeader header, size_t inline_bytes = 0) {
  return [header, inline_bytes](RawPeer& peer) {
    std::vector<std::byte> data(inline_bytes, std::byte{0x11});
    return peer.WriteMessage(header, data);
  };
}

class HostilePeerTest : public ::testing::Test {
 protected:
  // The parent's outstanding requests when the attack comes: ids 1 to 5. Request 3 lends
  // a to-target buffer, the first allocated (offset 0 of the parent's arena), request 4 a
  // from-target buffer, the next (offset 8192).
  static constexpr uint64_t kToTargetId = 3;
  static constexpr uint64_t kFromTargetId = 4;
  static constexpr uint64_t kToTargetOffset = 0;
  static constexpr uint64_t kFromTargetOffset = 8192;
  static constexpr uint64_t kLoanBytes = 8192;
  static constexpr uint64_t kArenaSize = 1024 * 1024;

  HostilePeerTest() : options_(Options(ring::WaitMode::kHybrid, 64 * 1024, kArenaSize)) {}

  void SendOutstanding() {
    absl::StatusOr<DmaBuffer> to = link_.AllocateBuffer(kLoanBytes);
    absl::StatusOr<DmaBuffer> from = link_.AllocateBuffer(kLoanBytes);
    ASSERT_TRUE(to.ok() && from.ok());
    std::vector<absl::StatusOr<uint64_t>> ids;
    ids.push_back(link_.Send(kEcho, AsBytes("one")));
    ids.push_back(link_.Send(kEcho, AsBytes("two")));
    ids.push_back(link_.Send(kCheckToTarget, {}, {*std::move(to), DmaDirection::kToTarget}));
    ids.push_back(
        link_.Send(kFillFromTarget, {}, {*std::move(from), DmaDirection::kFromTarget}));
    ids.push_back(link_.Send(kEcho, AsBytes("five")));
    outstanding_.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_TRUE(ids[i].ok()) << ids[i].status();
      ASSERT_EQ(*ids[i], i + 1);
      outstanding_.insert(*ids[i]);
    }
  }

  // A fresh link with the requests outstanding, and a child attacking its other end.
  void StartAttack(const Attack& attack) {
    LinkPair pair = MakePair(options_);
    link_ = std::move(pair.first);
    ASSERT_NO_FATAL_FAILURE(SendOutstanding());
    const LinkOptions options = options_;
    child_.reset();
    child_.emplace(ForkWithEnd(std::move(pair.second), link_, [&](const std::string& token) {
      return RunHostilePeer(token, options, attack);
    }));
  }

  // Receive() delivers one reply per outstanding request (a real one for `answered`, a
  // synthetic BAD_MESSAGE for the rest) and `requests` requests, then reports why the link
  // closed: BAD_MESSAGE naming the violation.
  void ExpectClosedByViolation(const Matcher<std::string>& violation,
                               const std::set<uint64_t>& answered = {}, int requests = 0) {
    std::set<uint64_t> replied;
    int requests_received = 0;
    absl::StatusOr<Message> message;
    while ((message = link_.Receive(Soon())).ok()) {
      if (message->kind == MessageKind::kRequest) {
        ++requests_received;
        continue;
      }
      const uint64_t id = message->id;
      ASSERT_EQ(outstanding_.count(id), 1u) << "a reply to request " << id << ", not outstanding";
      ASSERT_TRUE(replied.insert(id).second) << "a second reply to request " << id;
      if (answered.count(id) != 0) {
        EXPECT_TRUE(message->status.ok()) << "request " << id << ": " << message->status;
        EXPECT_FALSE(message->synthetic);
      } else {
        EXPECT_TRUE(IsBadMessage(message->status)) << "request " << id << ": " << message->status;
        EXPECT_EQ(message->status.code(), absl::StatusCode::kDataLoss);
        EXPECT_TRUE(message->synthetic);
      }
      if (id == kToTargetId || id == kFromTargetId) {
        EXPECT_TRUE(message->returned_buffer.valid()) << "request " << id << "'s buffer is lost";
      }
    }
    EXPECT_EQ(replied, outstanding_);
    EXPECT_EQ(requests_received, requests);
    const absl::Status closed = message.status();
    EXPECT_TRUE(IsBadMessage(closed)) << closed;
    EXPECT_EQ(closed.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(closed.message()), violation);
    EXPECT_EQ(link_.status(), closed);
    EXPECT_EQ(link_.stats().outstanding, 0u);
    ExpectArenaWhole(link_);
  }

  // The violation shut the link's socket down (the child saw it and exited), and this
  // process goes on to use a new link.
  void ExpectAftermath() {
    EXPECT_EQ(child_->WaitFor(kPatience), ChildProcess::Exited(kOk));
    link_.Close();
    LinkPair pair = MakePair(options_);
    ASSERT_TRUE(pair.first.Send(kEcho, AsBytes("again")).ok());
    absl::StatusOr<Message> request = pair.second.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
    ASSERT_TRUE(pair.second.Reply(request->id, absl::OkStatus(), request->data).ok());
    absl::StatusOr<Message> reply = pair.first.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->DataAsString(), "again");
  }

  void ExpectViolation(const Attack& attack, const Matcher<std::string>& violation,
                       const std::set<uint64_t>& answered = {}, int requests = 0) {
    ASSERT_NO_FATAL_FAILURE(StartAttack(attack));
    ExpectClosedByViolation(violation, answered, requests);
    ExpectAftermath();
  }

  LinkOptions options_;
  std::optional<ChildProcess> child_;
  Link link_;
  std::set<uint64_t> outstanding_;
};

// The harness itself: a raw peer that follows the protocol is answered as a real one.
TEST_F(HostilePeerTest, RawRepliesThatFollowTheProtocolAreAccepted) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    std::memset(peer.Arena(1 - peer.side()) + kFromTargetOffset, 0x5a, 100);
    for (uint64_t id : {1, 2, 3, 5}) {
      if (!peer.WriteMessage(Header(MessageKind::kReply, id))) return false;
    }
    return peer.WriteMessage(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                     kFromTargetOffset, 100));
  }));
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Message> reply = link_.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(reply->status.ok()) << reply->status;
    EXPECT_FALSE(reply->synthetic);
    if (reply->id == kFromTargetId) {
      ASSERT_EQ(reply->returned_buffer.size(), 100u);
      EXPECT_EQ(reply->returned_buffer.data()[99], std::byte{0x5a});
    }
  }
  EXPECT_TRUE(link_.status().ok()) << link_.status();
  EXPECT_EQ(link_.Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  link_.Close();
  EXPECT_EQ(child_->WaitFor(kPatience), ChildProcess::Exited(kOk));
}

// (i) Random bytes as record payloads.
TEST_F(HostilePeerTest, RandomBytesAsRecords) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    ExpectViolation(
        [seed](RawPeer& peer) {
          std::mt19937_64 random(seed);
          for (int i = 0; i < 16; ++i) {
            std::vector<std::byte> bytes(random() % 300);
            for (std::byte& b : bytes) b = static_cast<std::byte>(random());
            if (!peer.WriteRecord(bytes)) return false;
          }
          return true;
        },
        AnyOf(HasSubstr("bad magic"), HasSubstr("shorter than the 48-byte header")));
  }
}

// (ii) Crafted bad headers.
TEST_F(HostilePeerTest, RecordShorterThanAHeader) {
  ExpectViolation([](RawPeer& peer) { return peer.WriteRecord(std::vector<std::byte>(20)); },
                  HasSubstr("message of 20 bytes is shorter than the 48-byte header"));
}

TEST_F(HostilePeerTest, BadMagic) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.magic = 0xdeadbeef;
  ExpectViolation(Writes(header), HasSubstr("bad magic 0xdeadbeef"));
}

TEST_F(HostilePeerTest, WrongVersion) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.version = 2;
  ExpectViolation(Writes(header), HasSubstr("message version 2 is not supported"));
}

TEST_F(HostilePeerTest, UnknownKind) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.kind = 7;
  ExpectViolation(Writes(header), HasSubstr("unknown kind 7"));
}

TEST_F(HostilePeerTest, InlineLengthLongerThanTheRecord) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.inline_length = 100;
  ExpectViolation(Writes(header, 10),
                  HasSubstr("inline length 100 does not match the 10 bytes after the header"));
}

TEST_F(HostilePeerTest, InlineLengthShorterThanTheRecord) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.inline_length = 0;
  ExpectViolation(Writes(header, 16),
                  HasSubstr("inline length 0 does not match the 16 bytes after the header"));
}

TEST_F(HostilePeerTest, InlineLengthNearTwoToThe32) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.inline_length = 0xffffffff;
  ExpectViolation(Writes(header, 8), HasSubstr("inline length 4294967295 does not match"));
}

TEST_F(HostilePeerTest, ReservedFieldSet) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.reserved = 5;
  ExpectViolation(Writes(header), HasSubstr("reserved field is 5"));
}

TEST_F(HostilePeerTest, UnknownFlagOnARequest) {
  ExpectViolation(Writes(Header(MessageKind::kRequest, 100, 0x80)),
                  HasSubstr("flags 0x80 are not allowed on a request"));
}

TEST_F(HostilePeerTest, RequestCarryingAStatus) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.status = 3;
  ExpectViolation(Writes(header), HasSubstr("status must be 0"));
}

TEST_F(HostilePeerTest, ReplyStatusThatIsNoCanonicalCode) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.status = 99;
  ExpectViolation(Writes(header), HasSubstr("status 99 is not a canonical status code"));
}

TEST_F(HostilePeerTest, ReleaseWithAPayload) {
  MessageHeader header = WithDma(Header(MessageKind::kRelease, 0), 0, 4096);
  header.inline_length = 8;
  ExpectViolation(Writes(header, 8), HasSubstr("inline length must be 0"));
}

// (iii) DMA descriptors out of range.
TEST_F(HostilePeerTest, DmaOffsetPastTheArena) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), kArenaSize, 4096)),
      HasSubstr("lies outside the sender's arena"));
}

TEST_F(HostilePeerTest, DmaRangeStraddlingTheArenaEnd) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget),
                                 kArenaSize - 4096, 8192)),
                  HasSubstr("lies outside the sender's arena"));
}

TEST_F(HostilePeerTest, DmaOffsetThatWrapsAroundTwoToThe64) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget),
                                 0 - uint64_t{4096}, 8192)),
                  HasSubstr("lies outside the sender's arena"));
}

TEST_F(HostilePeerTest, DmaOffsetMisaligned) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), 100, 4096)),
      HasSubstr("DMA offset 100 is not page-aligned"));
}

TEST_F(HostilePeerTest, DmaLengthAboveMaxDmaSize) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaFromTarget), 0,
                                 kDefaultMaxDmaSize + 4096)),
                  HasSubstr("exceeds the link's limit"));
}

TEST_F(HostilePeerTest, DmaFlagWithoutALength) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), 4096, 0)),
      HasSubstr("DMA flag set but DMA length is 0"));
}

TEST_F(HostilePeerTest, DmaDescriptorWithoutAFlag) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100), 4096, 4096)),
                  HasSubstr("without a DMA flag"));
}

TEST_F(HostilePeerTest, BufferLentBothWays) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100,
                                        kFlagDmaToTarget | kFlagDmaFromTarget),
                                 0, 4096)),
                  HasSubstr("both to and from the target"));
}

TEST_F(HostilePeerTest, FilledReplyOutsideTheRequestersArena) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                 kArenaSize, 4096)),
                  HasSubstr("lies outside our arena"));
}

TEST_F(HostilePeerTest, FilledReplyNamingABufferItsRequestDidNotLend) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                 kToTargetOffset, 4096)),
                  HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, FilledReplyLongerThanTheLoan) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                 kFromTargetOffset, kLoanBytes + 4096)),
                  HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, FilledReplyToARequestThatLentNothing) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kReply, 1, kFlagDmaFromTarget), kFromTargetOffset, 0)),
      HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, ReplyThatKeepsTheBufferItWasLentToFill) {
  ExpectViolation(Writes(Header(MessageKind::kReply, kFromTargetId)),
                  HasSubstr("does not return the buffer its request lent to fill"));
}

// (iv) A reply to a request never sent.
TEST_F(HostilePeerTest, ReplyToARequestNeverSent) {
  ExpectViolation(Writes(Header(MessageKind::kReply, 1000)),
                  HasSubstr("reply 1000 answers no outstanding request"));
}

// (v) A second reply to the same request.
TEST_F(HostilePeerTest, SecondReplyToTheSameRequest) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kReply, 1)) &&
               peer.WriteMessage(Header(MessageKind::kReply, 1));
      },
      HasSubstr("reply 1 answers no outstanding request"), /*answered=*/{1});
}

// (vi) A release of a buffer never lent.
TEST_F(HostilePeerTest, ReleaseOfABufferNeverLent) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRelease, 0), 0, 4096)),
                  HasSubstr("which this end did not lend with a reply"));
}

TEST_F(HostilePeerTest, RequestReusingTheIdOfOneAwaitingItsReply) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kRequest, 7)) &&
               peer.WriteMessage(Header(MessageKind::kRequest, 7));
      },
      HasSubstr("request 7 reuses the id"), /*answered=*/{}, /*requests=*/1);
}

// (vii) Garbage written over the ring's control block and record headers.
TEST_F(HostilePeerTest, RingHeadBeyondCapacity) {
  ExpectViolation(
      [this](RawPeer& peer) {
        peer.Control(peer.side()).head.store(options_.ring_capacity + 64);
        peer.Wake();
        return true;
      },
      AllOf(HasSubstr("the peer broke the inbound ring"), HasSubstr("producer index")));
}

TEST_F(HostilePeerTest, RingHeadInsideARecordHeader) {
  ExpectViolation(
      [](RawPeer& peer) {
        peer.Control(peer.side()).head.store(4);
        peer.Wake();
        return true;
      },
      HasSubstr("less than a record header"));
}

TEST_F(HostilePeerTest, WholeControlBlockOverwritten) {
  ExpectViolation(
      [](RawPeer& peer) {
        std::memset(static_cast<void*>(&peer.Control(peer.side())), 0xa5,
                    sizeof(ring::RingControl));
        peer.Wake();
        return true;
      },
      AllOf(HasSubstr("the peer broke the inbound ring"), HasSubstr("producer index")));
}

TEST_F(HostilePeerTest, RecordOfLengthZero) {
  ExpectViolation(
      [](RawPeer& peer) {
        ring::RecordHeader zero{0, 0};
        std::memcpy(peer.Ring(peer.side()).data() + ring::kRecordSpaceOffset, &zero,
                    sizeof(zero));
        peer.Control(peer.side()).head.store(ring::kRecordHeaderSize);
        peer.Wake();
        return true;
      },
      HasSubstr("has length 0"));
}

// The ring the parent writes: a consumer index past everything published. The parent
// finds it when it next needs room, and must close the link as for any other violation.
TEST_F(HostilePeerTest, RingTailPastWhatWasPublished) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    peer.Control(1 - peer.side()).tail.store(uint64_t{1} << 40);
    // Then a well-formed request, so the parent knows the garbage is in place.
    return peer.WriteMessage(Header(MessageKind::kRequest, 77));
  }));
  absl::StatusOr<Message> signal = link_.Receive(Soon());
  ASSERT_TRUE(signal.ok()) << signal.status();
  ASSERT_EQ(signal->id, 77u);
  std::vector<std::byte> data(1000);
  absl::Status failed;
  for (int i = 0; i < 200 && failed.ok(); ++i) {
    absl::StatusOr<uint64_t> id = link_.Send(kEcho, data, {}, Soon());
    if (id.ok()) outstanding_.insert(*id);
    failed = id.status();
  }
  ASSERT_FALSE(failed.ok()) << "200 requests of 1000 bytes fit a 64 KiB ring";
  EXPECT_TRUE(IsBadMessage(failed)) << failed;
  ExpectClosedByViolation(HasSubstr("the peer broke the outbound ring"));
  ExpectAftermath();
}

// ---- (e) An end inherited across fork() without a hand-over. ---------------------------

// In a forked child: every call on `end` must fail with FAILED_PRECONDITION naming the
// owner. Returns kOk, or kCallNotRefused + the index of the first call that was not.
int TryEveryCall(Link& end, uint64_t request_id, pid_t owner) {
  const std::string owner_text = absl::StrCat("belongs to process ", owner);
  auto refused = [&](const absl::Status& s) {
    return s.code() == absl::StatusCode::kFailedPrecondition &&
           std::string(s.message()).find(owner_text) != std::string::npos;
  };
  const absl::Status results[] = {
      end.Send(kEcho, AsBytes("from the child")).status(),
      end.Receive(absl::Now() + absl::Seconds(1)).status(),
      end.Reply(request_id, absl::OkStatus(), AsBytes("from the child")),
      end.Call(kEcho, AsBytes("from the child"), {}, absl::Now() + absl::Seconds(1)).status(),
      end.AllocateBuffer(4096).status(),
      end.Cancel(request_id),
  };
  for (int i = 0; i < static_cast<int>(std::size(results)); ++i) {
    if (!refused(results[i])) return kCallNotRefused + i;
  }
  return end.PrepareToPoll() ? kCallNotRefused + static_cast<int>(std::size(results)) : kOk;
}

TEST(InheritedEndTest, EveryCallInAForkedChildFailsWithFailedPrecondition) {
  LinkPair pair = MakePair(Options(ring::WaitMode::kHybrid));
  Link& client = pair.first;
  Link& server = pair.second;
  absl::StatusOr<uint64_t> id = client.Send(kEcho, AsBytes("before the fork"));
  ASSERT_TRUE(id.ok());
  absl::StatusOr<Message> request = server.Receive(Soon());  // unanswered across the fork
  ASSERT_TRUE(request.ok()) << request.status();
  const uint64_t request_id = request->id;
  const pid_t parent = getpid();
  ChildProcess child = ChildProcess::Fork([&] {
    if (int r = TryEveryCall(client, *id, parent); r != kOk) return r;
    if (int r = TryEveryCall(server, request_id, parent); r != kOk) return r + 10;
    return int{kOk};
  });
  EXPECT_EQ(child.WaitFor(kPatience), ChildProcess::Exited(kOk))
      << "exit 20 + i: call i on the client end was not refused; 30 + i: on the server end";
  // The parent's ends carry on where they were.
  ASSERT_TRUE(server.Reply(request_id, absl::OkStatus(), AsBytes("after the child")).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->id, *id);
  EXPECT_EQ(reply->DataAsString(), "after the child");
  EXPECT_TRUE(client.status().ok());
  EXPECT_TRUE(server.status().ok());
}

TEST(InheritedEndTest, DestroyingAnInheritedEndInAChildLeavesTheParentsLinkWorking) {
  LinkPair pair = MakePair(Options(ring::WaitMode::kHybrid));
  Link client = std::move(pair.first);
  ChildProcess server =
      ForkPeer(std::move(pair.second), client, [](Link& end) { return Serve(end); });
  absl::StatusOr<DmaBuffer> held = client.AllocateBuffer(4096);  // alive across the fork
  ASSERT_TRUE(held.ok());
  absl::StatusOr<Message> first = client.Call(kEcho, AsBytes("first"), {}, Soon());
  ASSERT_TRUE(first.ok() && first->status.ok());

  ChildProcess inheritor = ChildProcess::Fork([&] {
    *held = DmaBuffer();  // must not touch the parent's arena
    client.Close();       // must not shut the parent's socket down
    client = Link();
    return int{kOk};
  });
  EXPECT_EQ(inheritor.WaitFor(kPatience), ChildProcess::Exited(kOk));

  // After the child is gone: a call through the same end, lending the same buffer.
  DmaParams params{.seed = 9};
  FillPattern(held->data(), params.seed);
  std::vector<std::byte> data(sizeof(params));
  std::memcpy(data.data(), &params, sizeof(params));
  absl::StatusOr<Message> reply = client.Call(
      kCheckToTarget, data, {*std::move(held), DmaDirection::kToTarget}, Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->status.ok()) << reply->status;
  EXPECT_TRUE(reply->returned_buffer.valid());
  EXPECT_TRUE(client.status().ok()) << client.status();
  ASSERT_TRUE(client.Call(kQuit, {}, {}, Soon()).ok());
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
}

}  // namespace
}  // namespace syslink
