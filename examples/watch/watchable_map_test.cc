// WatchableMap in one process: revisions, prefixes, the order every subscription sees under
// concurrent puts, and how a subscription ends (stopped, fallen behind, destroyed).

#include "examples/watch/watchable_map.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace syslink::examples::watch {
namespace {

using Next = WatchableMap::Subscription::Next;

// Takes what is queued now, without waiting.
std::vector<Change> TakeQueued(WatchableMap::Subscription& subscription) {
  std::vector<Change> changes;
  Change change;
  while (subscription.Take(absl::InfinitePast(), &change) == Next::kChange) {
    changes.push_back(change);
  }
  return changes;
}

TEST(WatchableMapTest, PutsGetConsecutiveRevisions) {
  WatchableMap map;
  EXPECT_EQ(map.Put("a", "1")->revision, 1);
  EXPECT_EQ(map.Put("b", "2")->revision, 2);
  EXPECT_EQ(map.Put("a", "3")->revision, 3);
}

TEST(WatchableMapTest, GetReturnsTheLastPutAndItsRevision) {
  WatchableMap map;
  ASSERT_TRUE(map.Put("k", "old").ok());
  ASSERT_TRUE(map.Put("other", "x").ok());
  ASSERT_TRUE(map.Put("k", "new").ok());
  absl::StatusOr<Change> got = map.Get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value(), "new");
  EXPECT_EQ(got->revision(), 3);
}

TEST(WatchableMapTest, GetOfAKeyNeverPutIsNotFound) {
  WatchableMap map;
  EXPECT_EQ(map.Get("nothing").status().code(), absl::StatusCode::kNotFound);
}

TEST(WatchableMapTest, AnEmptyKeyIsRefusedAndTakesNoRevision) {
  WatchableMap map;
  EXPECT_EQ(map.Put("", "v").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(map.Put("k", "v")->revision, 1);
}

TEST(WatchableMapTest, ASubscriptionSeesOnlyItsPrefixInOrder) {
  WatchableMap map;
  std::unique_ptr<WatchableMap::Subscription> watch = map.Subscribe("a/");
  ASSERT_TRUE(map.Put("a/1", "x").ok());
  ASSERT_TRUE(map.Put("b/1", "y").ok());
  ASSERT_TRUE(map.Put("a", "z").ok());  // no "a/" prefix
  ASSERT_TRUE(map.Put("a/2", "w").ok());
  std::vector<Change> changes = TakeQueued(*watch);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].key(), "a/1");
  EXPECT_EQ(changes[0].value(), "x");
  EXPECT_EQ(changes[0].revision(), 1);
  EXPECT_EQ(changes[1].key(), "a/2");
  EXPECT_EQ(changes[1].revision(), 4);
}

TEST(WatchableMapTest, AnEmptyPrefixSeesEveryKey) {
  WatchableMap map;
  std::unique_ptr<WatchableMap::Subscription> watch = map.Subscribe("");
  ASSERT_TRUE(map.Put("a", "1").ok());
  ASSERT_TRUE(map.Put("z", "2").ok());
  EXPECT_EQ(TakeQueued(*watch).size(), 2u);
}

TEST(WatchableMapTest, ASubscriptionBeginsAfterTheCurrentRevision) {
  WatchableMap map;
  ASSERT_TRUE(map.Put("k", "before").ok());
  std::unique_ptr<WatchableMap::Subscription> watch = map.Subscribe("k");
  EXPECT_EQ(watch->start_revision(), 1);
  ASSERT_TRUE(map.Put("k", "after").ok());
  std::vector<Change> changes = TakeQueued(*watch);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].value(), "after");
}

TEST(WatchableMapTest, PutCountsTheSubscriptionsItQueuedFor) {
  WatchableMap map;
  auto a = map.Subscribe("a");
  auto ab = map.Subscribe("ab");
  auto b = map.Subscribe("b");
  EXPECT_EQ(map.Put("abc", "1")->watchers, 2);
  EXPECT_EQ(map.Put("c", "1")->watchers, 0);
}

TEST(WatchableMapTest, ADestroyedSubscriptionIsNoLongerQueuedFor) {
  WatchableMap map;
  auto watch = map.Subscribe("");
  EXPECT_EQ(map.Put("k", "1")->watchers, 1);
  watch.reset();
  EXPECT_EQ(map.Put("k", "2")->watchers, 0);
  EXPECT_EQ(map.subscriptions(), 0u);
}

TEST(WatchableMapTest, TakeTimesOutWhenNothingChanges) {
  WatchableMap map;
  auto watch = map.Subscribe("");
  Change change;
  EXPECT_EQ(watch->Take(absl::Now() + absl::Milliseconds(20), &change), Next::kTimedOut);
  EXPECT_TRUE(watch->status().ok());
}

TEST(WatchableMapTest, APutWakesAWaitingTake) {
  WatchableMap map;
  auto watch = map.Subscribe("");
  std::thread putter([&] {
    absl::SleepFor(absl::Milliseconds(20));  // most likely after Take began to wait
    ASSERT_TRUE(map.Put("k", "v").ok());
  });
  Change change;
  EXPECT_EQ(watch->Take(absl::InfiniteFuture(), &change), Next::kChange);
  EXPECT_EQ(change.value(), "v");
  putter.join();
}

TEST(WatchableMapTest, ConcurrentPutsReachEverySubscriptionInRevisionOrder) {
  constexpr int kThreads = 4, kPuts = 500;
  WatchableMap map(kThreads * kPuts);
  auto first = map.Subscribe("");
  auto second = map.Subscribe("");
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&map, t] {
      for (int i = 0; i < kPuts; ++i) (void)map.Put("k" + std::to_string(t), std::to_string(i));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (auto* watch : {first.get(), second.get()}) {
    std::vector<Change> changes = TakeQueued(*watch);
    ASSERT_EQ(changes.size(), static_cast<size_t>(kThreads * kPuts));
    for (size_t i = 0; i < changes.size(); ++i)
      ASSERT_EQ(changes[i].revision(), static_cast<int64_t>(i + 1));
  }
}

TEST(WatchableMapTest, ASubscriptionThatFallsBehindEndsWithResourceExhausted) {
  WatchableMap map(/*max_queued=*/3);
  auto slow = map.Subscribe("");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(map.Put("k", "v")->watchers, 1);
  EXPECT_EQ(map.Put("k", "one too many")->watchers, 0);
  Change change;
  EXPECT_EQ(slow->Take(absl::InfinitePast(), &change), Next::kEnded);
  EXPECT_EQ(slow->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(map.Put("k", "later")->watchers, 0);  // an ended subscription gets nothing more
}

TEST(WatchableMapTest, StopEndsSubscriptionsAfterWhatWasQueued) {
  WatchableMap map;
  auto watch = map.Subscribe("");
  ASSERT_TRUE(map.Put("k", "queued").ok());
  map.Stop();
  Change change;
  ASSERT_EQ(watch->Take(absl::InfiniteFuture(), &change), Next::kChange);
  EXPECT_EQ(change.value(), "queued");
  EXPECT_EQ(watch->Take(absl::InfiniteFuture(), &change), Next::kEnded);
  EXPECT_EQ(watch->status().code(), absl::StatusCode::kUnavailable);
}

TEST(WatchableMapTest, EndEndsOneSubscriptionAfterWhatWasQueued) {
  WatchableMap map;
  auto ended = map.Subscribe("");
  auto other = map.Subscribe("");
  ASSERT_TRUE(map.Put("k", "queued").ok());
  ended->End(absl::CancelledError("the client went away"));
  ended->End(absl::AbortedError("a second reason"));  // the first one stays
  Change change;
  ASSERT_EQ(ended->Take(absl::InfiniteFuture(), &change), Next::kChange);
  EXPECT_EQ(change.value(), "queued");
  EXPECT_EQ(ended->Take(absl::InfiniteFuture(), &change), Next::kEnded);
  EXPECT_EQ(ended->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(map.Put("k", "later")->watchers, 1);  // the other one still gets changes
  EXPECT_TRUE(other->status().ok());
}

TEST(WatchableMapTest, StopWakesAWaitingTake) {
  WatchableMap map;
  auto watch = map.Subscribe("");
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(20));
    map.Stop();
  });
  Change change;
  EXPECT_EQ(watch->Take(absl::InfiniteFuture(), &change), Next::kEnded);
  stopper.join();
}

TEST(WatchableMapTest, ASubscriptionAfterStopHasEndedAlready) {
  WatchableMap map;
  map.Stop();
  auto watch = map.Subscribe("");
  Change change;
  EXPECT_EQ(watch->Take(absl::InfiniteFuture(), &change), Next::kEnded);
  EXPECT_EQ(watch->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(map.Put("k", "v").ok());  // puts still work
}

}  // namespace
}  // namespace syslink::examples::watch
