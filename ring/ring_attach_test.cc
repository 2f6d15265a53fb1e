// Tests of setting up a ring in one process: sizing and initializing its memory, attaching
// a producer and a consumer (and refusing memory that holds no valid ring), and a new
// producer or consumer taking over where the last one stopped.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/ring_testing.h"
#include "ring/shared_region.h"
#include "ring/wait_mode.h"
#include "tests/support/eventually.h"

namespace syslink::ring {
namespace {

using ::syslink::testing::Soon;
using ::testing::HasSubstr;

// --- Creating and attaching -------------------------------------------------------------

TEST(RingTest, RingCapacityForAcceptsFootprint) {
  AlignedBuffer memory(RingFootprint(4096));
  absl::StatusOr<size_t> capacity = RingCapacityFor(memory.bytes());
  ASSERT_TRUE(capacity.ok()) << capacity.status();
  EXPECT_EQ(*capacity, 4096u);
}

TEST(RingTest, InitializeRingWritesEmptyControlBlock) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kBlocking).ok());
  const RingControl* control = memory.control();
  EXPECT_EQ(control->magic, kRingMagic);
  EXPECT_EQ(control->version, kRingVersion);
  EXPECT_EQ(control->capacity, 256u);
  EXPECT_EQ(control->wait_mode, static_cast<uint32_t>(WaitMode::kBlocking));
  EXPECT_EQ(control->head.load(), 0u);
  EXPECT_EQ(control->tail.load(), 0u);
  EXPECT_EQ(control->consumer_waiting.load(), kNotWaiting);
  EXPECT_EQ(control->producer_waiting.load(), kNotWaiting);
}

TEST(RingTest, InitializeRingRejectsCapacityNotPowerOfTwo) {
  AlignedBuffer memory(RingFootprint(100));
  ExpectStatus(InitializeRing(memory.bytes(), WaitMode::kHybrid),
               absl::StatusCode::kInvalidArgument, "must be a power of two");
}

TEST(RingTest, InitializeRingRejectsOneByteMoreThanFootprint) {
  AlignedBuffer memory(RingFootprint(256) + 1);
  ExpectStatus(InitializeRing(memory.bytes(), WaitMode::kHybrid),
               absl::StatusCode::kInvalidArgument, "leaves 257 bytes of record space");
}

TEST(RingTest, InitializeRingRejectsCapacityBelowMinimum) {
  AlignedBuffer memory(RingFootprint(kMinRingCapacity / 2));
  ExpectStatus(InitializeRing(memory.bytes(), WaitMode::kHybrid),
               absl::StatusCode::kInvalidArgument, "too small");
}

TEST(RingTest, InitializeRingRejectsControlBlockWithoutRecordSpace) {
  AlignedBuffer memory(kRecordSpaceOffset);
  ExpectStatus(InitializeRing(memory.bytes(), WaitMode::kHybrid),
               absl::StatusCode::kInvalidArgument, "too small");
}

TEST(RingTest, InitializeRingRejectsEmptyMemory) {
  AlignedBuffer memory(0);
  ExpectStatus(InitializeRing(memory.bytes().first(0), WaitMode::kHybrid),
               absl::StatusCode::kInvalidArgument, "too small");
}

TEST(RingTest, InitializeRingRejectsMisalignedMemory) {
  AlignedBuffer memory(RingFootprint(256) + kCacheLineSize);
  for (size_t offset : {size_t{1}, size_t{8}, size_t{32}}) {
    SCOPED_TRACE(offset);
    ExpectStatus(
        InitializeRing(memory.bytes().subspan(offset, RingFootprint(256)), WaitMode::kHybrid),
        absl::StatusCode::kInvalidArgument, "64-byte cache line");
  }
}

TEST(RingTest, InitializeRingRejectsUnknownWaitMode) {
  AlignedBuffer memory(RingFootprint(256));
  ExpectStatus(InitializeRing(memory.bytes(), static_cast<WaitMode>(7)),
               absl::StatusCode::kInvalidArgument, "unknown wait mode");
}

// Both sides must refuse `memory` with `code` and a message containing `substring`.
void ExpectAttachFails(std::span<std::byte> memory, WaitMode mode, absl::StatusCode code,
                       const std::string& substring) {
  WaitOptions options{.mode = mode};
  {
    SCOPED_TRACE("producer");
    ExpectStatus(RingProducer::Attach(memory, options).status(), code, substring);
  }
  {
    SCOPED_TRACE("consumer");
    ExpectStatus(RingConsumer::Attach(memory, options).status(), code, substring);
  }
}

TEST(RingTest, AttachRejectsWrongMagic) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->magic = 0x12345678;
  ExpectAttachFails(memory.bytes(), WaitMode::kHybrid, absl::StatusCode::kFailedPrecondition,
                    "no ring here: magic is 0x12345678");
}

TEST(RingTest, AttachRejectsUninitializedMemory) {
  AlignedBuffer memory(RingFootprint(256));  // junk, never initialized
  ExpectAttachFails(memory.bytes(), WaitMode::kHybrid, absl::StatusCode::kFailedPrecondition,
                    "no ring here");
}

TEST(RingTest, AttachRejectsWrongVersion) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->version = kRingVersion + 1;
  ExpectAttachFails(memory.bytes(), WaitMode::kHybrid, absl::StatusCode::kFailedPrecondition,
                    "version 3 is not supported");
}

TEST(RingTest, AttachRejectsWrongWaitMode) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  ExpectAttachFails(memory.bytes(), WaitMode::kBlocking, absl::StatusCode::kFailedPrecondition,
                    "created for hybrid waiting but this side uses blocking");
  ExpectAttachFails(memory.bytes(), WaitMode::kSpin, absl::StatusCode::kFailedPrecondition,
                    "created for hybrid waiting but this side uses spin");
}

TEST(RingTest, AttachRejectsUnknownStoredWaitMode) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->wait_mode = 0;
  ExpectAttachFails(memory.bytes(), WaitMode::kHybrid, absl::StatusCode::kFailedPrecondition,
                    "an unknown mode of waiting");
}

TEST(RingTest, AttachRejectsStoredCapacityMismatch) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->capacity = 128;
  ExpectAttachFails(memory.bytes(), WaitMode::kHybrid, absl::StatusCode::kFailedPrecondition,
                    "claims 128 bytes of record space but its memory holds 256");
}

TEST(RingTest, AttachRejectsMemorySmallerThanTheRing) {
  AlignedBuffer memory(RingFootprint(512));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  ExpectAttachFails(memory.bytes().first(RingFootprint(256)), WaitMode::kHybrid,
                    absl::StatusCode::kFailedPrecondition,
                    "claims 512 bytes of record space but its memory holds 256");
}

TEST(RingTest, AttachRejectsMemoryOfNoRingSize) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  ExpectAttachFails(memory.bytes().first(RingFootprint(256) - 8), WaitMode::kHybrid,
                    absl::StatusCode::kInvalidArgument, "must be a power of two");
}

TEST(RingTest, ProducerAttachRejectsHeadMoreThanCapacityAheadOfTail) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->head.store(256 + 8);
  ExpectStatus(RingProducer::Attach(memory.bytes(), {}).status(),
               absl::StatusCode::kFailedPrecondition, "ring indexes are inconsistent");
}

TEST(RingTest, ProducerAttachRejectsMisalignedHead) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->head.store(4);
  ExpectStatus(RingProducer::Attach(memory.bytes(), {}).status(),
               absl::StatusCode::kFailedPrecondition, "ring indexes are inconsistent");
}

TEST(RingTest, ConsumerAttachRejectsMisalignedTail) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kHybrid).ok());
  memory.control()->tail.store(12);
  ExpectStatus(RingConsumer::Attach(memory.bytes(), {}).status(),
               absl::StatusCode::kFailedPrecondition, "consumer index 12 is misaligned");
}

TEST(RingTest, WorksInAlignedHeapMemory) {
  AlignedBuffer memory(RingFootprint(256));
  ASSERT_TRUE(InitializeRing(memory.bytes(), WaitMode::kSpin).ok());
  WaitOptions options{.mode = WaitMode::kSpin};
  absl::StatusOr<RingProducer> producer = RingProducer::Attach(memory.bytes(), options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(memory.bytes(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  EXPECT_EQ(producer->capacity(), 256u);
  EXPECT_EQ(consumer->capacity(), 256u);
  ASSERT_TRUE(producer->Write(AsBytes("heap"), Soon()).ok());
  EXPECT_EQ(ReadString(*consumer), "heap");
}

// --- Taking over a ring ----------------------------------------------------------------

TEST(RingTest, NewProducerResumesFromPublishedHead) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->producer.Write(AsBytes("published"), Soon()).ok());
  // Committed but never published: the first producer "dies" here.
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(6);
  ASSERT_TRUE(space.ok() && *space != nullptr);
  std::memcpy(*space, "hidden", 6);
  ring->producer.Commit(6);

  absl::StatusOr<RingProducer> successor =
      RingProducer::Attach(ring->region.bytes(), WaitOptions{});
  ASSERT_TRUE(successor.ok()) << successor.status();
  EXPECT_EQ(ReadString(ring->consumer), "published");
  EXPECT_TRUE(NothingToRead(ring->consumer));

  ASSERT_TRUE(successor->Write(AsBytes("successor"), Soon()).ok());
  EXPECT_EQ(ReadString(ring->consumer), "successor");
  EXPECT_TRUE(NothingToRead(ring->consumer));
  EXPECT_TRUE(ring->consumer.status().ok());
}

TEST(RingTest, NewConsumerResumesFromReleasedTail) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  for (const char* payload : {"one", "two", "three"}) {
    ASSERT_TRUE(ring->producer.Write(AsBytes(payload), Soon()).ok());
  }
  EXPECT_EQ(ReadString(ring->consumer), "one");
  ring->consumer.Release();
  EXPECT_EQ(ReadString(ring->consumer), "two");  // read, never released

  absl::StatusOr<RingConsumer> successor =
      RingConsumer::Attach(ring->region.bytes(), WaitOptions{});
  ASSERT_TRUE(successor.ok()) << successor.status();
  EXPECT_EQ(ReadString(*successor), "two");
  EXPECT_EQ(ReadString(*successor), "three");
  EXPECT_TRUE(NothingToRead(*successor));
}

}  // namespace
}  // namespace syslink::ring
