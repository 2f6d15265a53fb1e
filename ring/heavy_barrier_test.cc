// What each side of a ring promises in its *_sleep_barrier word when it attaches
// (internal/heavy_barrier.h). tests/ring_multiprocess_test.cc runs the handshake itself
// between two processes.

#include "ring/internal/heavy_barrier.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/ring_testing.h"

namespace syslink::ring {
namespace {

TEST(HeavyBarrierTest, HybridSidesPromiseHeavyBarriersWhereThisProcessMay) {
  absl::StatusOr<Ring> ring = MakeRing(256, WaitMode::kHybrid);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const uint32_t expected =
      internal::HeavyBarriersAvailable() ? kSleepBarrierHeavy : kSleepBarrierFence;
  EXPECT_EQ(ring->control()->consumer_sleep_barrier.load(), expected);
  EXPECT_EQ(ring->control()->producer_sleep_barrier.load(), expected);
}

TEST(HeavyBarrierTest, SideThatOptsOutPromisesOnlyAFence) {
  absl::StatusOr<Ring> ring = MakeRing(256, WaitMode::kHybrid);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const WaitOptions fences{.mode = WaitMode::kHybrid, .heavy_barriers = false};
  absl::StatusOr<RingProducer> successor = RingProducer::Attach(ring->region.bytes(), fences);
  ASSERT_TRUE(successor.ok()) << successor.status();
  EXPECT_EQ(ring->control()->producer_sleep_barrier.load(), kSleepBarrierFence);
}

TEST(HeavyBarrierTest, BlockingSidesPromiseOnlyAFence) {
  absl::StatusOr<Ring> ring = MakeRing(256, WaitMode::kBlocking);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->control()->consumer_sleep_barrier.load(), kSleepBarrierFence);
  EXPECT_EQ(ring->control()->producer_sleep_barrier.load(), kSleepBarrierFence);
}

TEST(HeavyBarrierTest, SideThatCannotTakeOverWithdrawsThePromiseAndWaits) {
  if (!internal::HeavyBarriersAvailable()) GTEST_SKIP() << "membarrier(2) is not available";
  absl::StatusOr<Ring> ring = MakeRing(256, WaitMode::kHybrid);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_EQ(ring->control()->consumer_sleep_barrier.load(), kSleepBarrierHeavy);
  internal::DisableHeavyBarriersForTesting(true);
  const absl::Time start = absl::Now();
  absl::StatusOr<RingConsumer> successor =
      RingConsumer::Attach(ring->region.bytes(), WaitOptions{.mode = WaitMode::kHybrid});
  const absl::Duration took = absl::Now() - start;
  internal::DisableHeavyBarriersForTesting(false);
  ASSERT_TRUE(successor.ok()) << successor.status();
  EXPECT_EQ(ring->control()->consumer_sleep_barrier.load(), kSleepBarrierFence);
  EXPECT_GE(took, absl::Milliseconds(10)) << "a waker's check of the old promise may be in flight";
}

}  // namespace
}  // namespace syslink::ring
