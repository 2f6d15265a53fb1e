// Tests of the ring against a hostile or broken peer. Each case writes crafted values
// straight into the control block or the record space, as a peer process could, and checks
// that the other side reports DATA_LOSS naming the problem, keeps reporting it, and never
// reads or writes outside the ring.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <random>
#include <span>
#include <string>

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
#include "ring/wait_mode.h"

namespace syslink::ring {
namespace {

using ::testing::HasSubstr;

constexpr size_t kCapacity = 256;
constexpr WaitOptions kOptions{.mode = WaitMode::kHybrid};

// A ring in heap memory of exactly its footprint, so that AddressSanitizer catches any
// access past its end; the test plays the hostile peer by writing into it directly.
class RingHostileTest : public testing::Test {
 protected:
  RingHostileTest()
      : memory_(static_cast<std::byte*>(
            ::operator new (RingFootprint(kCapacity), std::align_val_t{kCacheLineSize}))) {}
  ~RingHostileTest() override { ::operator delete (memory_, std::align_val_t{kCacheLineSize}); }

  void SetUp() override {
    std::memset(memory_, 0, RingFootprint(kCapacity));
    ASSERT_TRUE(InitializeRing(bytes(), kOptions.mode).ok());
  }

  std::span<std::byte> bytes() const { return {memory_, RingFootprint(kCapacity)}; }
  RingControl* control() const { return std::launder(reinterpret_cast<RingControl*>(memory_)); }
  std::byte* records() const { return memory_ + kRecordSpaceOffset; }

  // Writes a header at `index`, stamped as published there.
  void PutHeader(uint64_t index, uint32_t payload_size) {
    PutWord(index, HeaderWord(payload_size, index, true));
  }
  void PutWord(uint64_t index, uint64_t word) {
    std::memcpy(records() + index % kCapacity, &word, sizeof(word));
  }

  // A well-formed published record with `payload_size` bytes of payload; returns its size.
  uint64_t PutRecord(uint64_t index, uint32_t payload_size) {
    EXPECT_LE(index % kCapacity + RecordSize(payload_size), kCapacity);
    PutHeader(index, payload_size);
    std::memset(records() + index % kCapacity + kRecordHeaderSize, 'r', payload_size);
    return RecordSize(payload_size);
  }

  void SetHead(uint64_t head) { control()->head.store(head, std::memory_order_release); }
  void SetTail(uint64_t tail) { control()->tail.store(tail, std::memory_order_release); }

  RingConsumer AttachConsumer() {
    absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(bytes(), kOptions);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return *std::move(consumer);
  }

  RingProducer AttachProducer() {
    absl::StatusOr<RingProducer> producer = RingProducer::Attach(bytes(), kOptions);
    EXPECT_TRUE(producer.ok()) << producer.status();
    return *std::move(producer);
  }

  // Reads one well-formed record.
  void ExpectRecord(RingConsumer& consumer, size_t payload_size) {
    absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_TRUE(record->has_value());
    EXPECT_EQ((*record)->payload.size(), payload_size);
  }

  // Nothing is published for the consumer to read.
  void ExpectNothing(RingConsumer& consumer) {
    EXPECT_FALSE(consumer.Ready());
    absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_FALSE(record->has_value());
  }

  // The consumer's next TryRead() reports DATA_LOSS naming `reason`, and so does every
  // later call, including Read().
  void ExpectDataLoss(RingConsumer& consumer, const std::string& reason) {
    absl::StatusOr<std::optional<Record>> first = consumer.TryRead();
    EXPECT_EQ(first.status().code(), absl::StatusCode::kDataLoss)
        << (first.ok() ? (first->has_value() ? "returned a record" : "returned no record")
                       : first.status().ToString());
    EXPECT_THAT(std::string(first.status().message()), HasSubstr(reason));
    absl::StatusOr<std::optional<Record>> second = consumer.TryRead();
    EXPECT_EQ(second.status().code(), absl::StatusCode::kDataLoss) << second.status();
    EXPECT_THAT(std::string(second.status().message()), HasSubstr(reason));
    EXPECT_EQ(consumer.status(), second.status());
    absl::StatusOr<Record> read = consumer.Read(absl::InfinitePast());
    EXPECT_EQ(read.status(), second.status());
    EXPECT_TRUE(consumer.Ready());
  }

  // Commits 8-byte records until the ring is full, then publishes them.
  void FillRing(RingProducer& producer) {
    while (true) {
      absl::StatusOr<std::byte*> space = producer.TryReserve(8);
      ASSERT_TRUE(space.ok()) << space.status();
      if (*space == nullptr) break;
      producer.Commit(8);
    }
    producer.Publish();
  }

  void ExpectProducerDataLoss(RingProducer& producer, const std::string& reason) {
    absl::StatusOr<std::byte*> first = producer.TryReserve(8);
    EXPECT_EQ(first.status().code(), absl::StatusCode::kDataLoss)
        << (first.ok() ? "reserved space" : first.status().ToString());
    EXPECT_THAT(std::string(first.status().message()), HasSubstr(reason));
    absl::StatusOr<std::byte*> second = producer.TryReserve(8);
    EXPECT_EQ(second.status().code(), absl::StatusCode::kDataLoss) << second.status();
    EXPECT_EQ(producer.status(), second.status());
    EXPECT_EQ(producer.Reserve(8, absl::Now() + absl::Seconds(30)).status(), second.status());
    EXPECT_EQ(producer.Drain(absl::Now() + absl::Seconds(30)), second.status());
  }

 private:
  std::byte* memory_;
};

// --- Stamps ----------------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerReadsNothingUnstamped) {
  RingConsumer consumer = AttachConsumer();
  PutWord(0, HeaderWord(8, 0, false));
  ExpectNothing(consumer);
  PutWord(0, HeaderWord(8, kCapacity, true));  // stamped for the next lap
  ExpectNothing(consumer);
  PutWord(0, 0x0123456789abcdefu);
  ExpectNothing(consumer);
  PutRecord(0, 8);
  ExpectRecord(consumer, 8);
}

TEST_F(RingHostileTest, ConsumerNeverReadsTheProducerIndex) {
  RingConsumer consumer = AttachConsumer();
  SetHead(uint64_t{1} << 63);
  ExpectNothing(consumer);
  PutRecord(0, 8);
  SetHead(4);
  ExpectRecord(consumer, 8);
  ExpectNothing(consumer);
}

TEST_F(RingHostileTest, ConsumerStopsAtARecordStampedForAnotherLap) {
  SetTail(kCapacity);
  RingConsumer consumer = AttachConsumer();
  uint64_t end = kCapacity + PutRecord(kCapacity, 8);
  PutHeader(end - kCapacity, 8);  // what the previous lap left there
  ExpectRecord(consumer, 8);
  ExpectNothing(consumer);
}

// --- Record length ---------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerRejectsRecordPastEndOfRecordSpace) {
  SetTail(kCapacity - 16);
  RingConsumer consumer = AttachConsumer();
  PutHeader(kCapacity - 16, 24);
  ExpectDataLoss(consumer,
                 "offset 240 has a payload of 24 bytes, past the end of the record space (16 bytes "
                 "left)");
}

TEST_F(RingHostileTest, ConsumerRejectsHugePayload) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 0xfffffff0u);
  ExpectDataLoss(consumer, "a payload of 4294967280 bytes, past the end of the record space");
}

TEST_F(RingHostileTest, ConsumerRejectsPayloadSizeJustBelowPaddingMarker) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, kPaddingPayloadSize - 1);
  ExpectDataLoss(consumer, "a payload of 4294967294 bytes");
}

TEST_F(RingHostileTest, ConsumerRejectsRecordLeavingNoRoomForTheNextHeader) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, kCapacity - kRecordHeaderSize);  // fills the record space exactly
  ExpectDataLoss(consumer,
                 "ring record at offset 0 (256 bytes) runs into space the consumer "
                 "has not released (0 of 256 bytes in use)");
}

TEST_F(RingHostileTest, ConsumerAcceptsTheLargestRecord) {
  RingConsumer consumer = AttachConsumer();
  PutRecord(0, kCapacity - 2 * kRecordHeaderSize);
  ExpectRecord(consumer, kCapacity - 2 * kRecordHeaderSize);
}

TEST_F(RingHostileTest, ConsumerRejectsRecordOverUnreleasedRecords) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 64);  // read, not released
  PutHeader(end, 176);
  ExpectRecord(consumer, 64);
  ExpectDataLoss(consumer,
                 "ring record at offset 72 (184 bytes) runs into space the consumer "
                 "has not released (72 of 256 bytes in use)");
}

TEST_F(RingHostileTest, ConsumerReadsOnceReleasedSpaceMakesRoom) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 64);
  PutRecord(end, 176);
  ExpectRecord(consumer, 64);
  consumer.Release();
  ExpectRecord(consumer, 176);
}

// --- Padding ---------------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerSkipsPaddingToTheEnd) {
  SetTail(kCapacity - 16);
  RingConsumer consumer = AttachConsumer();
  PutHeader(kCapacity - 16, kPaddingPayloadSize);
  PutRecord(kCapacity, 8);
  ExpectRecord(consumer, 8);
}

TEST_F(RingHostileTest, ConsumerRejectsPaddingOverUnreadSpace) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 8);
  PutHeader(end, kPaddingPayloadSize);  // padding 240 bytes long with 16 still held
  ExpectRecord(consumer, 8);
  ExpectDataLoss(consumer,
                 "ring padding at offset 16 (240 bytes) runs into space the consumer "
                 "has not released (16 of 256 bytes in use)");
}

TEST_F(RingHostileTest, ConsumerRejectsPaddingAtTheStartOfTheRecordSpace) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, kPaddingPayloadSize);
  ExpectDataLoss(consumer, "ring padding at offset 0 (256 bytes) runs into space");
}

// --- Random garbage --------------------------------------------------------------------

// Overwrites the record space with a chain of headers from `index`, often well formed and
// published, sometimes stamped for another index and sometimes subtly wrong.
void PutPlausibleHeaders(std::mt19937_64& rng, std::byte* records, uint64_t index) {
  for (uint64_t written = 0; written < kCapacity;) {
    uint64_t to_end = kCapacity - index % kCapacity;
    uint32_t payload = static_cast<uint32_t>(rng() % 40);
    uint64_t stamped_at = index;
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2:
        break;  // well formed
      case 3:
        payload = kPaddingPayloadSize;
        break;
      case 4:
        payload = static_cast<uint32_t>(rng() % (2 * kCapacity));
        break;
      case 5:
        payload = static_cast<uint32_t>(rng());
        break;
      case 6:
        stamped_at = index - kCapacity * (1 + rng() % 3);  // a lap before
        break;
      case 7:
        stamped_at = index + 8 * (1 + rng() % 3);
        break;
    }
    if (RecordSize(payload) > to_end && payload != kPaddingPayloadSize && rng() % 2 == 0) {
      payload = kPaddingPayloadSize;
    }
    uint64_t word = HeaderWord(payload, stamped_at, rng() % 8 != 0);
    std::memcpy(records + index % kCapacity, &word, sizeof(word));
    uint64_t size = payload == kPaddingPayloadSize ? to_end : RecordSize(payload);
    uint64_t step = size <= to_end ? size : 8;
    written += step;
    index += step;
  }
}

TEST_F(RingHostileTest, RandomGarbageIsReadInBoundsOrReportedAsDataLoss) {
  std::mt19937_64 rng(0x5eed5eed);
  const std::byte* const begin = records();
  const std::byte* const end = records() + kCapacity;
  int iterations_broken = 0;
  int records_read = 0;
  for (int iteration = 0; iteration < 10000; ++iteration) {
    SCOPED_TRACE(iteration);
    ASSERT_TRUE(InitializeRing(bytes(), kOptions.mode).ok());
    const uint64_t tail = (rng() % (8 * kCapacity)) & ~uint64_t{7};
    SetTail(tail);
    for (size_t i = 0; i < kCapacity; i += 8) {
      uint64_t garbage = rng();
      std::memcpy(records() + i, &garbage, sizeof(garbage));
    }
    if (rng() % 4 != 0) PutPlausibleHeaders(rng, records(), tail);
    SetHead(rng() % 2 == 0 ? rng() : tail);

    absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(bytes(), kOptions);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    uint64_t held = 0;  // bytes of the records read and not released
    int reads = 0;
    // Every record takes at least 8 bytes and the chain of stamped headers covers one lap,
    // so the consumer must run out (or break) within kCapacity / 8 records.
    for (; reads <= static_cast<int>(kCapacity / 8); ++reads) {
      absl::StatusOr<std::optional<Record>> record = consumer->TryRead();
      if (!record.ok()) {
        ASSERT_EQ(record.status().code(), absl::StatusCode::kDataLoss) << record.status();
        ++iterations_broken;
        break;
      }
      if (!record->has_value()) {
        // Caught up with what is published: nothing more appears without a new publish.
        absl::StatusOr<std::optional<Record>> again = consumer->TryRead();
        ASSERT_TRUE(again.ok()) << again.status();
        ASSERT_FALSE(again->has_value()) << "a record appeared without a new publish";
        break;
      }
      std::span<const std::byte> payload = (*record)->payload;
      ASSERT_GE(payload.data(), begin + kRecordHeaderSize);
      ASSERT_LE(payload.data(), end);
      ASSERT_LE(payload.size(), static_cast<size_t>(end - payload.data()));
      ASSERT_EQ(static_cast<size_t>(payload.data() - begin) % kRecordAlignment, 0u);
      // Touch every byte, so that AddressSanitizer would see a read outside the ring.
      volatile unsigned sum = 0;
      for (std::byte b : payload) sum = sum + static_cast<unsigned>(b);
      held += RecordSize(payload.size());
      ASSERT_LE(held + kRecordHeaderSize, kCapacity) << "read over unreleased space";
      ++records_read;
      if (rng() % 4 == 0) {
        consumer->Release();
        held = 0;
      }
    }
    ASSERT_LE(reads, static_cast<int>(kCapacity / 8)) << "more records than the ring holds";
  }
  // Both outcomes occurred, so the loop tested something.
  EXPECT_GT(iterations_broken, 1000);
  EXPECT_GT(records_read, 1000);
}

// --- Consumer index, seen by the producer ----------------------------------------------

TEST_F(RingHostileTest, ProducerRejectsTailMovingBackwards) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(64);  // a legitimate release of four records
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  // Each fill leaves 8 bytes for the header after its last record.
  ASSERT_EQ(control()->head.load(), kCapacity + 48);
  SetTail(32);
  ExpectProducerDataLoss(producer, "tail 32 is outside [64, 304]");
}

TEST_F(RingHostileTest, ProducerRejectsTailBeyondPublishedHead) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(kCapacity + 8);
  ExpectProducerDataLoss(producer, "tail 264 is outside [0, 240]");
}

TEST_F(RingHostileTest, ProducerRejectsTailCoveringCommittedButUnpublishedRecords) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(64);
  // One more record, committed but not published: the consumer cannot have read it.
  absl::StatusOr<std::byte*> space = producer.TryReserve(8);
  ASSERT_TRUE(space.ok() && *space != nullptr);
  producer.Commit(8);
  SetTail(kCapacity);  // the end of that unpublished record
  absl::Status status;
  for (int i = 0; i < 2 * static_cast<int>(kCapacity / 16) && status.ok(); ++i) {
    absl::StatusOr<std::byte*> next = producer.TryReserve(8);
    status = next.status();
    if (next.ok() && *next != nullptr) producer.Commit(8);
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("tail 256 is outside [64, 240]"));
  EXPECT_EQ(producer.status(), status);
}

TEST_F(RingHostileTest, ProducerRejectsMisalignedTail) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(12);
  ExpectProducerDataLoss(producer, "tail 12 is outside [0, 240] or misaligned");
}

TEST_F(RingHostileTest, ProducerDrainRejectsTailBeyondPublishedHead) {
  RingProducer producer = AttachProducer();
  ASSERT_TRUE(
      producer
          .Write(std::as_bytes(std::span<const char>("abc", 3)), absl::Now() + absl::Seconds(30))
          .ok());
  SetTail(1024);
  absl::Status drained = producer.Drain(absl::Now() + absl::Seconds(30));
  EXPECT_EQ(drained.code(), absl::StatusCode::kDataLoss) << drained;
  EXPECT_THAT(std::string(drained.message()), HasSubstr("tail 1024 is outside [0, 16]"));
  EXPECT_EQ(producer.status(), drained);
}

}  // namespace
}  // namespace syslink::ring
