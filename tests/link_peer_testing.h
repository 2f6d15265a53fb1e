// What the tests of a link whose far end is another process share: link options and pairs,
// byte patterns, and the forked peer, a child that adopts its end and answers the
// ForkedCommand set.
//
//   LinkPair pair = MakePair(Options(ring::WaitMode::kHybrid));
//   Link client = std::move(pair.first);
//   ChildProcess server =
//       ForkPeer(std::move(pair.second), client, [](Link& end) { return Serve(end); });
//   absl::StatusOr<Message> reply = client.Call(kEcho, AsBytes("hi"), {}, Soon());
//   ...
//   ASSERT_TRUE(client.Call(kQuit, {}, {}, Soon()).ok());
//   EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
//
// Errors: functions that run in the test's process report through GoogleTest (EXPECT_* and
// ASSERT_* in the calling test). A forked child reports through its exit code (ChildExit),
// never through GoogleTest: it runs without the test framework (see
// tests/support/child_process.h).
//
// Thread safety: not thread-safe; each end is used by one thread at a time, as Link
// requires. Serve() and the bodies given to ForkWithEnd() and ForkPeer() run in the child.
// Ownership: ForkWithEnd() and ForkPeer() take the end they hand over and return the
// ChildProcess that owns the child (killed and reaped if the test ends first); `keep`
// stays the parent's, and only the child's inherited copy of it is closed.

#ifndef SYSLINK_TESTS_LINK_PEER_TESTING_H_
#define SYSLINK_TESTS_LINK_PEER_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ring/wait_mode.h"
#include "syslink/link.h"
#include "syslink/link_options.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/link_pair.h"  // Options(), MakePair(), ModeName()

namespace syslink::testing {

// How long a child waits for the parent before giving up on it.
inline constexpr absl::Duration kChildPatience = absl::Seconds(60);

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

// Bytes that depend on a seed and on their position, so that a lost, shifted or foreign
// byte shows.
void FillPattern(std::span<std::byte> bytes, uint64_t seed);

bool SameBytes(std::span<const std::byte> a, std::span<const std::byte> b);

// Every byte of the link's own arena is free: no buffer was lost.
void ExpectArenaWhole(const Link& link);

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

// In the child: answers the first `max_replies` requests and only reads the rest, until
// kQuit or until the link closes. Returns a ChildExit code.
int Serve(Link& end, int64_t max_replies = std::numeric_limits<int64_t>::max());

// Hands `end` to a forked child: releases it, forks, and closes this process's copies of
// its descriptors. The child first closes its inherited copy of `keep` (the parent's end),
// as a process of its own would not hold it, then runs `body` with the token.
ChildProcess ForkWithEnd(Link end, Link& keep, const std::function<int(const std::string&)>& body);

// ForkWithEnd() with a child that adopts the end and runs `serve` on it (kAdoptFailed if
// it cannot adopt it).
ChildProcess ForkPeer(Link end, Link& keep, const std::function<int(Link&)>& serve);

// A request as the parent remembers it, to check its reply.
struct SentRequest {
  uint32_t command = kEcho;
  std::vector<std::byte> data;
  DmaParams params;
  size_t dma_size = 0;  // bytes lent; 0 if none
};

// Up to `max_inline` bytes of inline payload; with probability `dma_percent`%, a
// to-target or from-target buffer of up to `max_dma` bytes.
absl::StatusOr<std::pair<SentRequest, DmaLoan>> RandomRequest(Link& link, std::mt19937_64& random,
                                                              size_t max_inline, size_t max_dma,
                                                              int dma_percent);

// Checks a real reply of a forked peer against its request.
void ExpectAnswers(const SentRequest& sent, const Message& reply);

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_LINK_PEER_TESTING_H_
