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

  // Writes a record header at `position` in the record space.
  void PutHeader(uint64_t position, uint32_t size, uint32_t payload_size) {
    ASSERT_LE(position + kRecordHeaderSize, kCapacity);
    RecordHeader header{size, payload_size};
    std::memcpy(records() + position, &header, sizeof(header));
  }

  // A well-formed record with `payload_size` bytes of payload; returns its size.
  uint64_t PutRecord(uint64_t position, uint32_t payload_size) {
    PutHeader(position, static_cast<uint32_t>(RecordSize(payload_size)), payload_size);
    std::memset(records() + position + kRecordHeaderSize, 'r', payload_size);
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

// --- Producer index --------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerRejectsIndexMoreThanCapacityAheadOfTail) {
  RingConsumer consumer = AttachConsumer();
  SetHead(kCapacity + 8);
  ExpectDataLoss(consumer, "ring producer index 264 is invalid");
}

TEST_F(RingHostileTest, ConsumerRejectsIndexFarBeyondCapacity) {
  RingConsumer consumer = AttachConsumer();
  SetHead(uint64_t{1} << 63);
  ExpectDataLoss(consumer, "ring producer index 9223372036854775808 is invalid");
}

TEST_F(RingHostileTest, ConsumerRejectsIndexMovingBackwards) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 8);
  end += PutRecord(end, 8);
  SetHead(end);
  ExpectRecord(consumer, 8);
  ExpectRecord(consumer, 8);
  SetHead(16);
  ExpectDataLoss(consumer, "ring producer index 16 is invalid");
}

TEST_F(RingHostileTest, ConsumerRejectsIndexMovingBackwardsAfterRelease) {
  RingConsumer consumer = AttachConsumer();
  SetHead(PutRecord(0, 8));
  ExpectRecord(consumer, 8);
  consumer.Release();
  SetHead(8);
  ExpectDataLoss(consumer, "ring producer index 8 is invalid");
}

// --- Published end ---------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerRejectsPublishedEndInsideFirstHeader) {
  RingConsumer consumer = AttachConsumer();
  PutRecord(0, 8);
  SetHead(4);
  ExpectDataLoss(consumer, "published 4 bytes at offset 0: less than a record header");
}

TEST_F(RingHostileTest, ConsumerRejectsPublishedEndNotMultipleOf8AfterRecord) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 8);
  PutRecord(end, 8);
  SetHead(end + 5);
  ExpectRecord(consumer, 8);
  ExpectDataLoss(consumer, "published 5 bytes at offset 16: less than a record header");
}

TEST_F(RingHostileTest, ConsumerRejectsPublishedEndInsideRecordPayload) {
  RingConsumer consumer = AttachConsumer();
  PutRecord(0, 16);  // 24 bytes
  SetHead(12);
  ExpectDataLoss(consumer, "length 24, past the published end (12 bytes available)");
}

// --- Record length ---------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerRejectsRecordLengthZero) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 0, 0);
  SetHead(8);
  ExpectDataLoss(consumer, "has length 0: it must be a non-zero multiple of 8");
}

TEST_F(RingHostileTest, ConsumerRejectsRecordLengthZeroAfterValidRecord) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 3);
  PutHeader(end, 0, 0);
  SetHead(end + 8);
  ExpectRecord(consumer, 3);
  ExpectDataLoss(consumer, "ring record at offset 16 has length 0");
}

TEST_F(RingHostileTest, ConsumerRejectsRecordLengthNotMultipleOf8) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 12, 4);
  SetHead(16);
  ExpectDataLoss(consumer, "has length 12: it must be a non-zero multiple of 8");
}

TEST_F(RingHostileTest, ConsumerRejectsRecordLengthPastPublishedEnd) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 32, 24);
  SetHead(16);
  ExpectDataLoss(consumer, "length 32, past the published end (16 bytes available)");
}

TEST_F(RingHostileTest, ConsumerRejectsHugeRecordLength) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 0xfffffff8u, 0xfffffff0u);
  SetHead(kCapacity);
  ExpectDataLoss(consumer, "length 4294967288, past the published end");
}

TEST_F(RingHostileTest, ConsumerRejectsRecordLengthPastEndOfRecordSpace) {
  // Start both indexes 16 bytes before the end of the record space.
  SetTail(kCapacity - 16);
  SetHead(kCapacity - 16);
  RingConsumer consumer = AttachConsumer();
  PutHeader(kCapacity - 16, 32, 24);
  SetHead(kCapacity - 16 + 32);
  ExpectDataLoss(consumer, "the end of the record space (16 bytes left)");
}

TEST_F(RingHostileTest, ConsumerRejectsPaddingPastEndOfRecordSpace) {
  SetTail(kCapacity - 16);
  SetHead(kCapacity - 16);
  RingConsumer consumer = AttachConsumer();
  PutHeader(kCapacity - 16, 24, kPaddingPayloadSize);
  SetHead(kCapacity - 16 + 24);
  ExpectDataLoss(consumer, "(16 bytes left)");
}

// --- Payload size ----------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerRejectsPayloadLargerThanRecord) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 16, 20);
  SetHead(16);
  ExpectDataLoss(consumer, "has length 16 but a payload of 20 bytes, which needs 32");
}

TEST_F(RingHostileTest, ConsumerRejectsPayloadFarSmallerThanRecord) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 32, 0);
  SetHead(32);
  ExpectDataLoss(consumer, "has length 32 but a payload of 0 bytes, which needs 8");
}

TEST_F(RingHostileTest, ConsumerRejectsPayloadSizeJustBelowPaddingMarker) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 16, kPaddingPayloadSize - 1);
  SetHead(16);
  ExpectDataLoss(consumer, "a payload of 4294967294 bytes");
}

// --- Padding ---------------------------------------------------------------------------

TEST_F(RingHostileTest, ConsumerRejectsPaddingThatDoesNotReachTheEnd) {
  RingConsumer consumer = AttachConsumer();
  PutHeader(0, 8, kPaddingPayloadSize);
  SetHead(8);
  ExpectDataLoss(consumer, "padding at offset 0 has length 8 but must reach the end");
}

TEST_F(RingHostileTest, ConsumerRejectsPaddingEndingShortOfTheEndAfterRecord) {
  RingConsumer consumer = AttachConsumer();
  uint64_t end = PutRecord(0, 8);
  PutHeader(end, 16, kPaddingPayloadSize);
  SetHead(end + 16);
  ExpectRecord(consumer, 8);
  ExpectDataLoss(consumer, "padding at offset 16 has length 16 but must reach the end");
}

// --- Random garbage --------------------------------------------------------------------

// Overwrites the record space with a chain of headers that are often well formed and
// sometimes subtly wrong, starting at `position`.
void PutPlausibleHeaders(std::mt19937_64& rng, std::byte* records, uint64_t position) {
  for (uint64_t written = 0; written < kCapacity;) {
    uint64_t to_end = kCapacity - position;
    uint32_t payload = static_cast<uint32_t>(rng() % 40);
    uint32_t size = static_cast<uint32_t>(RecordSize(payload));
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2:
        break;  // well formed
      case 3:
        payload = kPaddingPayloadSize;
        size = static_cast<uint32_t>((rng() % 2 == 0) ? to_end : 8 * (1 + rng() % 8));
        break;
      case 4:
        size = static_cast<uint32_t>(rng() % 64);
        break;
      case 5:
        payload = static_cast<uint32_t>(rng());
        break;
      case 6:
        size = static_cast<uint32_t>(rng());
        break;
      case 7:
        size += 8 * static_cast<uint32_t>(rng() % 3);
        break;
    }
    if (size > to_end && payload != kPaddingPayloadSize && rng() % 2 == 0) {
      size = static_cast<uint32_t>(to_end);
      payload = kPaddingPayloadSize;
    }
    RecordHeader header{size, payload};
    std::memcpy(records + position, &header, sizeof(header));
    uint64_t step = size >= 8 && size % 8 == 0 && size <= to_end ? size : 8;
    written += step;
    position = (position + step) % kCapacity;
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
    if (rng() % 2 == 0) PutPlausibleHeaders(rng, records(), tail % kCapacity);
    uint64_t head;
    switch (rng() % 5) {
      case 0:
        head = rng();
        break;
      case 1:
        head = tail + rng() % (kCapacity + 1);  // any alignment
        break;
      case 2:
      case 3:
        head = tail + 8 * (rng() % (kCapacity / 8 + 1));
        break;
      default:
        head = tail - rng() % 64;
        break;
    }
    SetHead(head);

    absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(bytes(), kOptions);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    uint64_t consumed = 0;  // bytes of the records read
    int reads = 0;
    // Every record takes at least 8 bytes of at most kCapacity published, so the consumer
    // must run out (or break) within kCapacity / 8 records.
    for (; reads <= static_cast<int>(kCapacity / 8); ++reads) {
      absl::StatusOr<std::optional<Record>> record = consumer->TryRead();
      if (!record.ok()) {
        ASSERT_EQ(record.status().code(), absl::StatusCode::kDataLoss) << record.status();
        ++iterations_broken;
        break;
      }
      if (!record->has_value()) {
        // Caught up with the published end, or (as a caller would find on its next call)
        // broken: anything but another record.
        absl::StatusOr<std::optional<Record>> again = consumer->TryRead();
        if (again.ok()) {
          ASSERT_FALSE(again->has_value()) << "a record appeared without a new publish";
        } else {
          ASSERT_EQ(again.status().code(), absl::StatusCode::kDataLoss) << again.status();
          ++iterations_broken;
        }
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
      consumed += RecordSize(payload.size());
      ASSERT_LE(consumed, head - tail) << "read past the published end";
      ++records_read;
      if (rng() % 4 == 0) consumer->Release();
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
  ASSERT_EQ(control()->head.load(), kCapacity + 64);
  SetTail(32);
  ExpectProducerDataLoss(producer, "tail 32 is outside [64, 320]");
}

TEST_F(RingHostileTest, ProducerRejectsTailBeyondPublishedHead) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(kCapacity + 8);
  ExpectProducerDataLoss(producer, "tail 264 is outside [0, 256]");
}

TEST_F(RingHostileTest, ProducerRejectsTailCoveringCommittedButUnpublishedRecords) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(64);
  // One more record, committed but not published: the consumer cannot have read it.
  absl::StatusOr<std::byte*> space = producer.TryReserve(8);
  ASSERT_TRUE(space.ok() && *space != nullptr);
  producer.Commit(8);
  SetTail(kCapacity + 16);  // the end of that unpublished record
  absl::Status status;
  for (int i = 0; i < 2 * static_cast<int>(kCapacity / 16) && status.ok(); ++i) {
    absl::StatusOr<std::byte*> next = producer.TryReserve(8);
    status = next.status();
    if (next.ok() && *next != nullptr) producer.Commit(8);
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("tail 272 is outside [64, 256]"));
  EXPECT_EQ(producer.status(), status);
}

TEST_F(RingHostileTest, ProducerRejectsMisalignedTail) {
  RingProducer producer = AttachProducer();
  ASSERT_NO_FATAL_FAILURE(FillRing(producer));
  SetTail(12);
  ExpectProducerDataLoss(producer, "tail 12 is outside [0, 256] or misaligned");
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
