// RequestWatch: the target of a request learns, from the requester's mirror, when the
// requester stops waiting for the reply (its deadline passed, or it cancelled). Both ends
// live in this process, each with its own mapping of the region.

#include <atomic>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "syslink/link.h"
#include "tests/support/eventually.h"
#include "tests/support/link_pair.h"

namespace syslink {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::MakePair;
using ::syslink::testing::Soon;

// Sends a request from `client` and returns it as `server` received it.
Message SendAndReceive(Link& client, Link& server, absl::Time deadline = absl::InfiniteFuture()) {
  absl::StatusOr<uint64_t> id = client.Send(9, AsBytes("work"), {}, deadline);
  EXPECT_TRUE(id.ok()) << id.status();
  absl::StatusOr<Message> request = server.Receive(Soon());
  EXPECT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->id, *id);
  return *std::move(request);
}

TEST(RequestWatchTest, NotGivenUpWhileTheRequesterWaits) {
  auto [client, server] = MakePair();
  Message request = SendAndReceive(client, server);
  RequestWatch watch = server.Watch(request);
  EXPECT_FALSE(watch.given_up());
  ASSERT_TRUE(server.Reply(request.id, absl::OkStatus(), AsBytes("done")).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->status.ok());
}

TEST(RequestWatchTest, GivenUpOnceTheRequesterCancels) {
  auto [client, server] = MakePair();
  Message request = SendAndReceive(client, server);
  RequestWatch watch = server.Watch(request);
  ASSERT_TRUE(client.Cancel(request.id).ok());
  EXPECT_TRUE(watch.given_up());
  // The late reply is still accepted, and dropped by the requester.
  ASSERT_TRUE(server.Reply(request.id, absl::OkStatus(), AsBytes("late")).ok());
  absl::StatusOr<Message> cancelled = client.Receive(Soon());
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->status.code(), absl::StatusCode::kCancelled);
  absl::StatusOr<Message> nothing = client.Receive(absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(nothing.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(client.status().ok());
}

TEST(RequestWatchTest, GivenUpOnceTheRequesterSeesItsDeadlinePass) {
  auto [client, server] = MakePair();
  Message request = SendAndReceive(client, server, absl::Now() + absl::Milliseconds(20));
  RequestWatch watch = server.Watch(request);
  EXPECT_FALSE(watch.given_up());
  absl::StatusOr<Message> expired = client.Receive(Soon());
  ASSERT_TRUE(expired.ok());
  ASSERT_EQ(expired->status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(watch.given_up());
}

TEST(RequestWatchTest, EachRequestHasItsOwnWatch) {
  auto [client, server] = MakePair();
  Message first = SendAndReceive(client, server);
  Message second = SendAndReceive(client, server);
  RequestWatch first_watch = server.Watch(first);
  RequestWatch second_watch = server.Watch(second);
  ASSERT_TRUE(client.Cancel(second.id).ok());
  EXPECT_FALSE(first_watch.given_up());
  EXPECT_TRUE(second_watch.given_up());
}

TEST(RequestWatchTest, AnsweredRequestIsNoLongerAwaited) {
  auto [client, server] = MakePair();
  Message request = SendAndReceive(client, server);
  RequestWatch watch = server.Watch(request);
  ASSERT_TRUE(server.Reply(request.id, absl::OkStatus(), AsBytes("done")).ok());
  ASSERT_TRUE(client.Receive(Soon()).ok());
  EXPECT_TRUE(watch.given_up());
  // The slot it used now holds the next request, which is awaited.
  Message next = SendAndReceive(client, server);
  EXPECT_FALSE(server.Watch(next).given_up());
  EXPECT_TRUE(watch.given_up());
}

TEST(RequestWatchTest, WatchOfAReplyOrOfNothingNeverGivesUp) {
  auto [client, server] = MakePair();
  Message request = SendAndReceive(client, server);
  ASSERT_TRUE(server.Reply(request.id, absl::OkStatus(), AsBytes("done")).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(client.Watch(*reply).given_up());
  EXPECT_FALSE(RequestWatch().given_up());
  EXPECT_FALSE(Link().Watch(request).given_up());
}

TEST(RequestWatchTest, AnotherThreadSeesTheCancel) {
  auto [client, server] = MakePair();
  Message request = SendAndReceive(client, server);
  RequestWatch watch = server.Watch(request);
  // The worker looks once before the cancel, so what it sees is the change, not a cancel
  // that was there before it started.
  std::atomic<bool> looked{false};
  std::atomic<bool> given_up_before{true};
  std::atomic<bool> seen{false};
  std::thread worker([&] {
    given_up_before.store(watch.given_up());
    looked.store(true);
    seen.store(Eventually([&] { return watch.given_up(); }));
  });
  EXPECT_TRUE(Eventually([&] { return looked.load(); }));
  ASSERT_TRUE(client.Cancel(request.id).ok());
  worker.join();
  EXPECT_FALSE(given_up_before.load());
  EXPECT_TRUE(seen.load());
}

TEST(RequestWatchTest, OutlivesBothEnds) {
  RequestWatch watch;
  {
    auto [client, server] = MakePair();
    Message request = SendAndReceive(client, server);
    watch = server.Watch(request);
    ASSERT_TRUE(client.Cancel(request.id).ok());
  }
  // The region stays mapped for the watch; the cancel it saw is still there.
  EXPECT_TRUE(watch.given_up());
}

}  // namespace
}  // namespace syslink
