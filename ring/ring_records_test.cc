// Tests of the ring's record protocol in one process: reserve, commit, publish, read and
// release, wrap-around with padding, and the limits on a record's size.

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

// --- Records -------------------------------------------------------------------------

TEST(RingTest, WriteThenReadOneRecord) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->producer.Write(AsBytes("hello, ring"), Soon()).ok());
  absl::StatusOr<Record> record = ring->consumer.Read(Soon());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(AsString(record->payload), "hello, ring");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(record->payload.data()) % kRecordAlignment, 0u);
  EXPECT_TRUE(NothingToRead(ring->consumer));
  ring->consumer.Release();
  EXPECT_EQ(ring->control()->tail.load(), RecordSize(11));
  EXPECT_EQ(ring->control()->head.load(), RecordSize(11));
}

TEST(RingTest, TryNextReadsRecordsInOrderAndStepsOverPadding) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  Record record;
  EXPECT_FALSE(ring->consumer.TryNext(record));
  EXPECT_TRUE(ring->consumer.status().ok());

  ASSERT_TRUE(ring->producer.Write(Pattern(200, 1), Soon()).ok());
  ASSERT_TRUE(ring->consumer.TryNext(record));
  EXPECT_EQ(FirstPatternMismatch(record.payload, 1), -1);
  EXPECT_EQ(record.payload.size(), 200u);
  ring->consumer.Release();
  // 48 bytes are left before the end: the next record follows padding, at the start.
  ASSERT_TRUE(ring->producer.Write(Pattern(100, 2), Soon()).ok());
  ASSERT_TRUE(ring->consumer.TryNext(record));
  EXPECT_EQ(record.payload.size(), 100u);
  EXPECT_EQ(FirstPatternMismatch(record.payload, 2), -1);
  EXPECT_EQ(record.payload.data(), reinterpret_cast<const std::byte*>(ring->control()) +
                                       kRecordSpaceOffset + kRecordHeaderSize);
  EXPECT_FALSE(ring->consumer.TryNext(record));
  EXPECT_TRUE(ring->consumer.status().ok());
}

TEST(RingTest, TryNextReportsABrokenRingThroughStatus) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  // A published record larger than the ring.
  HeaderAt(ring->records(), 255, 0).store(HeaderWord(4096, 0, true));
  Record record;
  EXPECT_FALSE(ring->consumer.TryNext(record));
  ExpectStatus(ring->consumer.status(), absl::StatusCode::kDataLoss, "past the end");
  EXPECT_FALSE(ring->consumer.TryNext(record));  // and stays broken
  ExpectStatus(ring->consumer.TryRead().status(), absl::StatusCode::kDataLoss, "past the end");
}

TEST(RingTest, ZeroLengthRecord) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->producer.Write({}, Soon()).ok());
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(0);
  ASSERT_TRUE(space.ok()) << space.status();
  ASSERT_NE(*space, nullptr);
  ring->producer.Commit(0);
  ASSERT_TRUE(ring->producer.Write(AsBytes("after"), Soon()).ok());

  EXPECT_EQ(ReadString(ring->consumer), "");
  EXPECT_EQ(ReadString(ring->consumer), "");
  EXPECT_EQ(ReadString(ring->consumer), "after");
  EXPECT_TRUE(NothingToRead(ring->consumer));
  // A zero-length record is a bare header.
  EXPECT_EQ(ring->control()->head.load(), 2 * kRecordHeaderSize + RecordSize(5));
}

TEST(RingTest, BatchBecomesVisibleOnlyOnPublish) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const std::string payloads[] = {"one", "two", "three"};
  for (const std::string& payload : payloads) {
    absl::StatusOr<std::byte*> space = ring->producer.TryReserve(payload.size());
    ASSERT_TRUE(space.ok()) << space.status();
    ASSERT_NE(*space, nullptr);
    std::memcpy(*space, payload.data(), payload.size());
    ring->producer.Commit(payload.size());
    EXPECT_FALSE(ring->consumer.Ready());
    absl::StatusOr<std::optional<Record>> record = ring->consumer.TryRead();
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_FALSE(record->has_value()) << "a committed record is visible before Publish()";
  }
  EXPECT_EQ(ring->control()->head.load(), 0u);

  ring->producer.Publish();
  EXPECT_TRUE(ring->consumer.Ready());
  for (const std::string& payload : payloads) EXPECT_EQ(ReadString(ring->consumer), payload);
  EXPECT_TRUE(NothingToRead(ring->consumer));
}

TEST(RingTest, TryReserveReturnsNullWhenFullAndSucceedsAfterRelease) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  // Seven 32-byte records and a 24-byte one leave 8 bytes: the header after the last
  // record, which no record may take.
  constexpr size_t kPayload = 24;
  for (int i = 0; i < 8; ++i) {
    const size_t payload = i < 7 ? kPayload : 16;
    absl::StatusOr<std::byte*> space = ring->producer.TryReserve(payload);
    ASSERT_TRUE(space.ok()) << space.status();
    ASSERT_NE(*space, nullptr) << "record " << i;
    ring->producer.Commit(payload);
  }
  absl::StatusOr<std::byte*> full = ring->producer.TryReserve(kPayload);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(*full, nullptr);
  // Even the smallest record does not fit.
  full = ring->producer.TryReserve(0);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(*full, nullptr);

  ring->producer.Publish();
  absl::StatusOr<std::optional<Record>> record = ring->consumer.TryRead();
  ASSERT_TRUE(record.ok() && record->has_value());
  // Read but not released: the space is still the consumer's.
  full = ring->producer.TryReserve(kPayload);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(*full, nullptr);

  ring->consumer.Release();
  // The released record makes room; the 8 bytes before the end take a record with no
  // payload.
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(0);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_NE(*space, nullptr);
  EXPECT_TRUE(ring->producer.status().ok());
}

TEST(RingTest, WrapAroundWithPaddingPreservesThousandsOfRandomRecords) {
  constexpr size_t kCapacity = 1024;
  constexpr uint32_t kRecords = 5000;
  absl::StatusOr<Ring> ring = MakeRing(kCapacity, WaitMode::kSpin);
  ASSERT_TRUE(ring.ok()) << ring.status();
  RingProducer& producer = ring->producer;
  RingConsumer& consumer = ring->consumer;
  const std::byte* records = ring->region.data() + kRecordSpaceOffset;

  std::mt19937 rng(20240611);
  std::uniform_int_distribution<size_t> payload_size(0, 300);
  std::deque<std::pair<uint32_t, size_t>> in_flight;  // sequence number, payload size
  uint32_t checked = 0;
  int wraps = 0;
  const std::byte* previous = nullptr;

  // Reads up to `limit` records, checks each against what was written, then releases.
  auto consume = [&](int limit) {
    for (int n = 0; n < limit; ++n) {
      absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
      ASSERT_TRUE(record.ok()) << record.status();
      if (!record->has_value()) break;
      ASSERT_FALSE(in_flight.empty()) << "read a record that was never written";
      auto [sequence, size] = in_flight.front();
      in_flight.pop_front();
      std::span<const std::byte> payload = (*record)->payload;
      ASSERT_EQ(payload.size(), size) << "record " << sequence;
      ASSERT_GE(payload.data(), records + kRecordHeaderSize);
      ASSERT_LE(payload.data() + payload.size(), records + kCapacity);
      ASSERT_EQ(FirstPatternMismatch(payload, sequence), -1) << "record " << sequence;
      if (previous != nullptr && payload.data() < previous) ++wraps;
      previous = payload.data();
      ++checked;
    }
    consumer.Release();
  };

  for (uint32_t sequence = 0; sequence < kRecords; ++sequence) {
    size_t size = sequence % 97 == 0 ? producer.max_payload_size() : payload_size(rng);
    std::byte* space = nullptr;
    // An empty ring fits any record after at most one padding record was skipped.
    for (int attempt = 0; attempt < 3 && space == nullptr; ++attempt) {
      absl::StatusOr<std::byte*> reserved = producer.TryReserve(size);
      ASSERT_TRUE(reserved.ok()) << reserved.status();
      space = *reserved;
      if (space == nullptr) {
        producer.Publish();
        ASSERT_NO_FATAL_FAILURE(consume(1 << 30));
      }
    }
    ASSERT_NE(space, nullptr) << "no room in an empty ring for record " << sequence;
    FillPattern(space, size, sequence);
    producer.Commit(size);
    in_flight.emplace_back(sequence, size);
    if (rng() % 3 == 0) producer.Publish();
    if (rng() % 4 == 0) {
      ASSERT_NO_FATAL_FAILURE(consume(static_cast<int>(rng() % 4)));
    }
  }
  producer.Publish();
  ASSERT_NO_FATAL_FAILURE(consume(1 << 30));
  EXPECT_EQ(checked, kRecords);
  EXPECT_TRUE(in_flight.empty());
  EXPECT_GT(wraps, 100);
  EXPECT_TRUE(producer.status().ok());
  EXPECT_TRUE(consumer.status().ok());
}

TEST(RingTest, LargestPayloadRoundTrip) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  // The record's header and the next one's take the rest.
  ASSERT_EQ(ring->producer.max_payload_size(), 256 - 2 * kRecordHeaderSize);
  std::vector<std::byte> payload = Pattern(ring->producer.max_payload_size(), 9);
  ASSERT_TRUE(ring->producer.Write(payload, Soon()).ok());
  absl::StatusOr<Record> record = ring->consumer.Read(Soon());
  ASSERT_TRUE(record.ok()) << record.status();
  ASSERT_EQ(record->payload.size(), payload.size());
  EXPECT_EQ(FirstPatternMismatch(record->payload, 9), -1);
  ring->consumer.Release();
  // The next one needs the whole ring again: it starts after a padding record that the
  // consumer must pass and release first.
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(payload.size());
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(*space, nullptr);
  ring->producer.Publish();
  EXPECT_TRUE(NothingToRead(ring->consumer));
  ring->consumer.Release();
  ASSERT_TRUE(ring->producer.Write(payload, Soon()).ok());
  EXPECT_EQ(ReadString(ring->consumer).size(), payload.size());
}

TEST(RingTest, LargestPayloadMidRingWaitsForPaddingToBeReleased) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->producer.Write(AsBytes("x"), Soon()).ok());
  EXPECT_EQ(ReadString(ring->consumer), "x");
  ring->consumer.Release();

  // From offset 16 the largest record needs the whole ring: first a padding record to the
  // end, and then the consumer must pass over that padding.
  const size_t largest = ring->producer.max_payload_size();
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(largest);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(*space, nullptr);
  ring->producer.Publish();
  EXPECT_TRUE(NothingToRead(ring->consumer));  // skips the padding
  ring->consumer.Release();
  EXPECT_EQ(ring->control()->tail.load(), 256u);

  space = ring->producer.TryReserve(largest);
  ASSERT_TRUE(space.ok()) << space.status();
  ASSERT_EQ(*space, ring->region.data() + kRecordSpaceOffset + kRecordHeaderSize);
  FillPattern(*space, largest, 4);
  ring->producer.Commit(largest);
  ring->producer.Publish();
  absl::StatusOr<std::optional<Record>> record = ring->consumer.TryRead();
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->payload.size(), largest);
  EXPECT_EQ(FirstPatternMismatch((*record)->payload, 4), -1);
}

TEST(RingTest, OversizeReservationIsInvalidArgument) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const size_t too_large = ring->producer.max_payload_size() + 1;
  ExpectStatus(ring->producer.TryReserve(too_large).status(), absl::StatusCode::kInvalidArgument,
               "does not fit in a ring of 256 bytes");
  ExpectStatus(ring->producer.Reserve(too_large, Soon()).status(),
               absl::StatusCode::kInvalidArgument, "does not fit");
  std::vector<std::byte> payload(too_large);
  ExpectStatus(ring->producer.Write(payload, Soon()), absl::StatusCode::kInvalidArgument,
               "does not fit");
  // A caller's mistake does not break the ring.
  EXPECT_TRUE(ring->producer.status().ok());
  ASSERT_TRUE(ring->producer.Write(AsBytes("fine"), Soon()).ok());
  EXPECT_EQ(ReadString(ring->consumer), "fine");
}

TEST(RingTest, CommitSmallerThanReservedUsesOnlyCommittedSpace) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(100);
  ASSERT_TRUE(space.ok() && *space != nullptr);
  std::memcpy(*space, "ten bytes!", 10);
  ring->producer.Commit(10);
  ASSERT_TRUE(ring->producer.Write(AsBytes("next"), Soon()).ok());

  absl::StatusOr<std::optional<Record>> first = ring->consumer.TryRead();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(AsString((*first)->payload), "ten bytes!");
  absl::StatusOr<std::optional<Record>> second = ring->consumer.TryRead();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ(AsString((*second)->payload), "next");
  EXPECT_EQ((*second)->payload.data(), (*first)->payload.data() + RecordSize(10));
}

TEST(RingTest, CommitLargerThanReservedBreaksProducer) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(8);
  ASSERT_TRUE(space.ok() && *space != nullptr);
  ring->producer.Commit(9);
  ExpectStatus(ring->producer.status(), absl::StatusCode::kFailedPrecondition,
               "Commit(9) without a reservation that large");
  EXPECT_EQ(ring->producer.TryReserve(8).status(), ring->producer.status());
  ring->producer.Publish();
  EXPECT_TRUE(NothingToRead(ring->consumer));
}

TEST(RingTest, CommitWithoutReservationBreaksProducer) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ring->producer.Commit(0);
  ExpectStatus(ring->producer.status(), absl::StatusCode::kFailedPrecondition,
               "without a reservation");
  EXPECT_EQ(ring->producer.Write(AsBytes("x"), Soon()), ring->producer.status());
}

}  // namespace
}  // namespace syslink::ring
