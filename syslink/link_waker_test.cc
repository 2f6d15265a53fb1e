// LinkWaker: another thread interrupts an end's Receive(), which returns ABORTED, in every
// wait mode and whether the end spins or sleeps; messages come before a wake-up, wake-ups
// do not queue, and only Receive() is woken.

#include "syslink/link_waker.h"

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "syslink/link.h"
#include "tests/support/eventually.h"
#include "tests/support/link_pair.h"
#include "tests/support/proc_state.h"

namespace syslink {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::MakePair;
using ::syslink::testing::ModeName;
using ::syslink::testing::Options;
using ::syslink::testing::Soon;
using ::syslink::testing::ThreadState;

class LinkWakerTest : public ::testing::TestWithParam<ring::WaitMode> {};

INSTANTIATE_TEST_SUITE_P(WaitModes, LinkWakerTest,
                         ::testing::Values(ring::WaitMode::kBlocking, ring::WaitMode::kHybrid,
                                           ring::WaitMode::kSpin),
                         ModeName);

// A thread blocked in Receive() with no deadline returns ABORTED when woken. In the modes
// that sleep, the wake-up comes once /proc shows the thread asleep, so the eventfd path is
// the one covered; a spinning thread is woken while it spins.
TEST_P(LinkWakerTest, WakeInterruptsAReceiveThatWaits) {
  auto [client, server] = MakePair(Options(GetParam()));
  absl::StatusOr<LinkWaker> waker = server.Waker();
  ASSERT_TRUE(waker.ok()) << waker.status();
  std::atomic<pid_t> tid{0};
  absl::Status outcome;
  std::thread reader([&, &server = server] {
    tid.store(gettid());
    outcome = server.Receive(absl::InfiniteFuture()).status();
  });
  ASSERT_TRUE(Eventually([&] { return tid.load() != 0; }));
  if (GetParam() != ring::WaitMode::kSpin) {
    ASSERT_TRUE(Eventually([&] { return ThreadState(tid.load()) == 'S'; }));
  }
  waker->Wake();
  reader.join();
  EXPECT_TRUE(absl::IsAborted(outcome)) << outcome;
  // The end is untouched: a message sent now arrives.
  ASSERT_TRUE(client.Send(7, AsBytes("after"), {}, Soon()).ok());
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "after");
}

TEST_P(LinkWakerTest, AMessageComesBeforeTheWakeUp) {
  auto [client, server] = MakePair(Options(GetParam()));
  absl::StatusOr<LinkWaker> waker = server.Waker();
  ASSERT_TRUE(waker.ok());
  ASSERT_TRUE(client.Send(7, AsBytes("first"), {}, Soon()).ok());
  waker->Wake();
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "first");
  EXPECT_TRUE(absl::IsAborted(server.Receive(Soon()).status()));
  EXPECT_TRUE(absl::IsDeadlineExceeded(server.Receive(absl::InfinitePast()).status()));
}

TEST_P(LinkWakerTest, WakeUpsDoNotQueue) {
  auto [client, server] = MakePair(Options(GetParam()));
  absl::StatusOr<LinkWaker> waker = server.Waker();
  ASSERT_TRUE(waker.ok());
  LinkWaker copy = *waker;
  for (int i = 0; i < 3; ++i) copy.Wake();
  waker->Wake();
  EXPECT_TRUE(absl::IsAborted(server.Receive(Soon()).status()));
  // No wake-up is left, not even as a count in the eventfd: the next wait times out.
  absl::Time start = absl::Now();
  EXPECT_TRUE(absl::IsDeadlineExceeded(server.Receive(start + absl::Milliseconds(20)).status()));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
}

// Call() waits for its own reply and is not woken; the wake-up stays for Receive().
TEST_P(LinkWakerTest, CallIsNotWoken) {
  auto [client, server] = MakePair(Options(GetParam()));
  absl::StatusOr<LinkWaker> waker = client.Waker();
  ASSERT_TRUE(waker.ok());
  waker->Wake();
  std::thread replier([&, &server = server] {
    absl::StatusOr<Message> request = server.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
    ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), AsBytes("pong")).ok());
  });
  absl::StatusOr<Message> reply = client.Call(7, AsBytes("ping"), {}, Soon());
  replier.join();
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_TRUE(reply->status.ok()) << reply->status;
  EXPECT_EQ(reply->DataAsString(), "pong");
  EXPECT_TRUE(absl::IsAborted(client.Receive(Soon()).status()));
}

// A peer that dies while the end sleeps is still seen: the eventfd beside the socket does
// not hide the socket's hang-up.
TEST_P(LinkWakerTest, APeerThatClosesIsStillSeen) {
  auto [client, server] = MakePair(Options(GetParam()));
  ASSERT_TRUE(server.Waker().ok());
  client.Close();
  absl::Status outcome = server.Receive(Soon()).status();
  EXPECT_FALSE(outcome.ok());
  EXPECT_FALSE(absl::IsAborted(outcome)) << outcome;
  EXPECT_FALSE(absl::IsDeadlineExceeded(outcome)) << outcome;
}

TEST(LinkWakerLifetimeTest, AWakerOutlivesItsLink) {
  LinkWaker waker;
  waker.Wake();  // a default waker wakes nothing
  EXPECT_FALSE(waker.valid());
  {
    auto [client, server] = MakePair(Options(ring::WaitMode::kHybrid));
    absl::StatusOr<LinkWaker> made = server.Waker();
    ASSERT_TRUE(made.ok());
    waker = *made;
  }
  EXPECT_TRUE(waker.valid());
  waker.Wake();  // the end is gone: nothing happens
}

TEST(LinkWakerLifetimeTest, AnEmptyLinkHasNoWaker) {
  Link empty;
  EXPECT_EQ(empty.Waker().status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace syslink
