// Tests of the ring with its producer and consumer in one process: creating and attaching,
// the record protocol (reserve, commit, publish, read, release), wrap-around, waiting and
// waking. Corrupt and hostile input is in ring_hostile_test.cc.

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <new>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "ring/wait_mode.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::ring {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;
using ::syslink::testing::ThreadCpuTime;
using ::syslink::testing::ThreadState;
using ::testing::HasSubstr;

constexpr WaitMode kAllModes[] = {WaitMode::kSpin, WaitMode::kHybrid, WaitMode::kBlocking};
constexpr WaitMode kSleepingModes[] = {WaitMode::kHybrid, WaitMode::kBlocking};

// Heap memory of exactly `size` bytes on a cache line, filled with junk.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size)
      : size_(size),
        data_(static_cast<std::byte*>(
            ::operator new(size == 0 ? 1 : size, std::align_val_t{kCacheLineSize}))) {
    std::memset(data_, 0xa5, size_);
  }
  ~AlignedBuffer() { ::operator delete(data_, std::align_val_t{kCacheLineSize}); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::span<std::byte> bytes() const { return {data_, size_}; }
  RingControl* control() const { return std::launder(reinterpret_cast<RingControl*>(data_)); }

 private:
  size_t size_;
  std::byte* data_;
};

// A ring in a SharedRegion with its producer and consumer.
struct Ring {
  SharedRegion region;
  RingProducer producer;
  RingConsumer consumer;

  RingControl* control() const {
    return std::launder(reinterpret_cast<RingControl*>(region.data()));
  }
};

absl::StatusOr<Ring> MakeRing(size_t capacity, WaitMode mode = WaitMode::kHybrid) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("ring_test", RingFootprint(capacity));
  if (!region.ok()) return region.status();
  if (absl::Status status = InitializeRing(region->bytes(), mode); !status.ok()) return status;
  WaitOptions options{.mode = mode};
  absl::StatusOr<RingProducer> producer = RingProducer::Attach(region->bytes(), options);
  if (!producer.ok()) return producer.status();
  absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(region->bytes(), options);
  if (!consumer.ok()) return consumer.status();
  return Ring{*std::move(region), *std::move(producer), *std::move(consumer)};
}

std::span<const std::byte> AsBytes(absl::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string AsString(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::byte PatternByte(uint32_t sequence, size_t i) {
  return static_cast<std::byte>((sequence * 131 + i * 7 + (i >> 8)) & 0xff);
}

void FillPattern(std::byte* out, size_t size, uint32_t sequence) {
  for (size_t i = 0; i < size; ++i) out[i] = PatternByte(sequence, i);
}

std::vector<std::byte> Pattern(size_t size, uint32_t sequence) {
  std::vector<std::byte> bytes(size);
  FillPattern(bytes.data(), size, sequence);
  return bytes;
}

// Index of the first byte that differs from the pattern, or -1.
long FirstPatternMismatch(std::span<const std::byte> payload, uint32_t sequence) {
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] != PatternByte(sequence, i)) return static_cast<long>(i);
  }
  return -1;
}

void ExpectStatus(const absl::Status& status, absl::StatusCode code,
                  const std::string& substring) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(substring));
}

// The payload of the next record, or a test failure.
std::string ReadString(RingConsumer& consumer) {
  absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
  EXPECT_TRUE(record.ok()) << record.status();
  if (!record.ok()) return "<error>";
  EXPECT_TRUE(record->has_value()) << "no record published";
  if (!record->has_value()) return "<none>";
  return AsString((*record)->payload);
}

bool NothingToRead(RingConsumer& consumer) {
  absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
  return record.ok() && !record->has_value();
}

// The id of the calling thread, as /proc/self/task names it.
pid_t ThisThreadId() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Waits, bounded, until thread `tid` sleeps in its futex wait on `word`: it announced the
// sleep there and the kernel has it asleep (between the two it only looks at the ring once
// more and calls FUTEX_WAIT).
bool AwaitAsleepOn(const std::atomic<uint32_t>& word, pid_t tid) {
  return Eventually([&] {
    return word.load(std::memory_order_acquire) == kWaitingOnFutex && ThreadState(tid) == 'S';
  });
}

// Waits, bounded, until `thread` spins in a wait: it raised `entering` right before the call
// that waits, and has since used 2 ms of CPU, which only that call's spinning can use.
bool AwaitSpinning(pthread_t thread, const std::atomic<bool>& entering) {
  if (!Eventually([&] { return entering.load(); })) return false;
  const absl::Duration start = ThreadCpuTime(thread);
  return Eventually([&] { return ThreadCpuTime(thread) - start >= absl::Milliseconds(2); });
}

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
    ExpectStatus(InitializeRing(memory.bytes().subspan(offset, RingFootprint(256)),
                                WaitMode::kHybrid),
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
                    "version 2 is not supported");
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
  EXPECT_EQ(record.payload.data(),
            reinterpret_cast<const std::byte*>(ring->control()) + kRecordSpaceOffset +
                kRecordHeaderSize);
  EXPECT_FALSE(ring->consumer.TryNext(record));
  EXPECT_TRUE(ring->consumer.status().ok());
}

TEST(RingTest, TryNextReportsABrokenRingThroughStatus) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ring->control()->head.store(4096);  // past what the consumer released plus capacity
  Record record;
  EXPECT_FALSE(ring->consumer.TryNext(record));
  ExpectStatus(ring->consumer.status(), absl::StatusCode::kDataLoss, "is invalid");
  EXPECT_FALSE(ring->consumer.TryNext(record));  // and stays broken
  ExpectStatus(ring->consumer.TryRead().status(), absl::StatusCode::kDataLoss, "is invalid");
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
  constexpr size_t kPayload = 24;  // 32-byte records: 8 fill the ring exactly
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<std::byte*> space = ring->producer.TryReserve(kPayload);
    ASSERT_TRUE(space.ok()) << space.status();
    ASSERT_NE(*space, nullptr) << "record " << i;
    ring->producer.Commit(kPayload);
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
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(kPayload);
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
  ASSERT_EQ(ring->producer.max_payload_size(), 256 - kRecordHeaderSize);
  std::vector<std::byte> payload = Pattern(ring->producer.max_payload_size(), 9);
  ASSERT_TRUE(ring->producer.Write(payload, Soon()).ok());
  absl::StatusOr<Record> record = ring->consumer.Read(Soon());
  ASSERT_TRUE(record.ok()) << record.status();
  ASSERT_EQ(record->payload.size(), payload.size());
  EXPECT_EQ(FirstPatternMismatch(record->payload, 9), -1);
  ring->consumer.Release();
  // The ring is empty again and takes another one.
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
  ExpectStatus(ring->producer.TryReserve(too_large).status(),
               absl::StatusCode::kInvalidArgument, "does not fit in a ring of 256 bytes");
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

// --- Waiting -----------------------------------------------------------------------------

TEST(RingTest, ReadWithPastDeadlineIsDeadlineExceeded) {
  for (WaitMode mode : kAllModes) {
    SCOPED_TRACE(WaitModeName(mode));
    absl::StatusOr<Ring> ring = MakeRing(256, mode);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ExpectStatus(ring->consumer.Read(absl::Now() - absl::Seconds(1)).status(),
                 absl::StatusCode::kDeadlineExceeded, "no ring record arrived");
    ExpectStatus(ring->consumer.Read(absl::InfinitePast()).status(),
                 absl::StatusCode::kDeadlineExceeded, "no ring record arrived");
    // A waiter that gave up leaves no announcement behind.
    EXPECT_EQ(ring->control()->consumer_waiting.load(), kNotWaiting);
    EXPECT_TRUE(ring->consumer.status().ok());
  }
}

TEST(RingTest, ReadWithPastDeadlineStillReturnsPublishedRecord) {
  for (WaitMode mode : kAllModes) {
    SCOPED_TRACE(WaitModeName(mode));
    absl::StatusOr<Ring> ring = MakeRing(256, mode);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ASSERT_TRUE(ring->producer.Write(AsBytes("ready"), Soon()).ok());
    absl::StatusOr<Record> record = ring->consumer.Read(absl::InfinitePast());
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(AsString(record->payload), "ready");
  }
}

TEST(RingTest, ReserveWithPastDeadlineOnFullRingIsDeadlineExceeded) {
  for (WaitMode mode : kAllModes) {
    SCOPED_TRACE(WaitModeName(mode));
    absl::StatusOr<Ring> ring = MakeRing(256, mode);
    ASSERT_TRUE(ring.ok()) << ring.status();
    std::vector<std::byte> payload(ring->producer.max_payload_size());
    absl::StatusOr<std::byte*> space = ring->producer.TryReserve(payload.size());
    ASSERT_TRUE(space.ok() && *space != nullptr);
    ring->producer.Commit(payload.size());
    ExpectStatus(ring->producer.Reserve(0, absl::InfinitePast()).status(),
                 absl::StatusCode::kDeadlineExceeded, "no room");
    ExpectStatus(ring->producer.Write(AsBytes("x"), absl::Now() - absl::Seconds(1)),
                 absl::StatusCode::kDeadlineExceeded, "no room");
    EXPECT_EQ(ring->control()->producer_waiting.load(), kNotWaiting);
    EXPECT_TRUE(ring->producer.status().ok());
    // Before giving up, Reserve() published the pending record so the consumer can make
    // room.
    EXPECT_EQ(ReadString(ring->consumer).size(), payload.size());
  }
}

TEST(RingTest, ReadIsWokenByProducerThread) {
  for (WaitMode mode : kSleepingModes) {
    SCOPED_TRACE(WaitModeName(mode));
    absl::StatusOr<Ring> ring = MakeRing(256, mode);
    ASSERT_TRUE(ring.ok()) << ring.status();
    bool saw_consumer_asleep = false;
    absl::Status write_status;
    const pid_t consumer_tid = ThisThreadId();
    std::thread producer_thread([&] {
      // Publish only once the consumer sleeps on the futex.
      saw_consumer_asleep = AwaitAsleepOn(ring->control()->consumer_waiting, consumer_tid);
      write_status = ring->producer.Write(AsBytes("wake up"), Soon());
    });
    absl::StatusOr<Record> record = ring->consumer.Read(Soon());
    producer_thread.join();
    EXPECT_TRUE(saw_consumer_asleep);
    EXPECT_TRUE(write_status.ok()) << write_status;
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(AsString(record->payload), "wake up");
    EXPECT_EQ(ring->control()->consumer_waiting.load(), kNotWaiting);
  }
}

TEST(RingTest, ReadInSpinModeSeesProducerThread) {
  absl::StatusOr<Ring> ring = MakeRing(256, WaitMode::kSpin);
  ASSERT_TRUE(ring.ok()) << ring.status();
  absl::Status write_status;
  bool saw_consumer_spin = false;
  std::atomic<bool> reading{false};
  const pthread_t consumer = pthread_self();
  std::thread producer_thread([&] {
    // Publish only once the consumer spins in Read().
    saw_consumer_spin = AwaitSpinning(consumer, reading);
    write_status = ring->producer.Write(AsBytes("spun"), Soon());
  });
  reading.store(true);
  absl::StatusOr<Record> record = ring->consumer.Read(Soon());
  producer_thread.join();
  EXPECT_TRUE(saw_consumer_spin);
  EXPECT_TRUE(write_status.ok()) << write_status;
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(AsString(record->payload), "spun");
  // A spinning consumer never announces sleep.
  EXPECT_EQ(ring->control()->consumer_waiting.load(), kNotWaiting);
}

TEST(RingTest, ReserveBlocksUntilConsumerThreadReleases) {
  for (WaitMode mode : kAllModes) {
    SCOPED_TRACE(WaitModeName(mode));
    absl::StatusOr<Ring> ring = MakeRing(256, mode);
    ASSERT_TRUE(ring.ok()) << ring.status();
    constexpr size_t kPayload = 24;
    for (int i = 0; i < 8; ++i) {  // fill the ring, unpublished
      absl::StatusOr<std::byte*> space = ring->producer.TryReserve(kPayload);
      ASSERT_TRUE(space.ok() && *space != nullptr);
      FillPattern(*space, kPayload, i);
      ring->producer.Commit(kPayload);
    }
    // Release only once the producer waits in Reserve(): spinning, or asleep on the futex.
    bool saw_producer_wait = false;
    std::atomic<bool> reserving{false};
    const pthread_t producer = pthread_self();
    const pid_t producer_tid = ThisThreadId();
    absl::StatusOr<Record> first = absl::UnknownError("not read");
    std::thread consumer_thread([&] {
      saw_producer_wait = mode == WaitMode::kSpin
                              ? AwaitSpinning(producer, reserving)
                              : AwaitAsleepOn(ring->control()->producer_waiting, producer_tid);
      first = ring->consumer.Read(Soon());
      ring->consumer.Release();
    });
    reserving.store(true);
    absl::StatusOr<std::byte*> space = ring->producer.Reserve(kPayload, Soon());
    consumer_thread.join();
    EXPECT_TRUE(saw_producer_wait);
    ASSERT_TRUE(space.ok()) << space.status();
    EXPECT_NE(*space, nullptr);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(FirstPatternMismatch(first->payload, 0), -1);
    EXPECT_EQ(ring->control()->producer_waiting.load(), kNotWaiting);
  }
}

TEST(RingTest, DrainOfEmptyRingSucceedsAtOnce) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_TRUE(ring->producer.Drain(absl::InfinitePast()).ok());
}

TEST(RingTest, DrainTimesOutWhileRecordsAreUnreleased) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->producer.Write(AsBytes("a"), Soon()).ok());
  ExpectStatus(ring->producer.Drain(absl::InfinitePast()), absl::StatusCode::kDeadlineExceeded,
               "did not drain");
  EXPECT_EQ(ReadString(ring->consumer), "a");
  // Read is not enough: the space must be released.
  ExpectStatus(ring->producer.Drain(absl::InfinitePast()), absl::StatusCode::kDeadlineExceeded,
               "did not drain");
  ring->consumer.Release();
  EXPECT_TRUE(ring->producer.Drain(absl::InfinitePast()).ok());
}

TEST(RingTest, DrainPublishesPendingRecords) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  absl::StatusOr<std::byte*> space = ring->producer.TryReserve(1);
  ASSERT_TRUE(space.ok() && *space != nullptr);
  **space = std::byte{'p'};
  ring->producer.Commit(1);
  EXPECT_FALSE(ring->producer.Drain(absl::InfinitePast()).ok());
  EXPECT_EQ(ReadString(ring->consumer), "p");
}

TEST(RingTest, DrainWaitsForConsumerThread) {
  for (WaitMode mode : kAllModes) {
    SCOPED_TRACE(WaitModeName(mode));
    absl::StatusOr<Ring> ring = MakeRing(256, mode);
    ASSERT_TRUE(ring.ok()) << ring.status();
    for (const char* payload : {"a", "bb", "ccc"}) {
      ASSERT_TRUE(ring->producer.Write(AsBytes(payload), Soon()).ok());
    }
    std::vector<std::string> read;
    std::thread consumer_thread([&] {
      for (int i = 0; i < 3; ++i) {
        absl::StatusOr<Record> record = ring->consumer.Read(Soon());
        if (!record.ok()) return;
        read.push_back(AsString(record->payload));
        ring->consumer.Release();
      }
    });
    absl::Status drained = ring->producer.Drain(Soon());
    consumer_thread.join();
    EXPECT_TRUE(drained.ok()) << drained;
    EXPECT_THAT(read, ::testing::ElementsAre("a", "bb", "ccc"));
    EXPECT_EQ(ring->control()->tail.load(), ring->control()->head.load());
  }
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

// --- Waiting outside the ring ----------------------------------------------------------

TEST(RingTest, PrepareExternalWaitReturnsFalseWhenRecordIsReady) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->producer.Write(AsBytes("ready"), Soon()).ok());
  EXPECT_FALSE(ring->consumer.PrepareExternalWait());
  EXPECT_EQ(ring->control()->consumer_waiting.load(), kNotWaiting);
  EXPECT_EQ(ReadString(ring->consumer), "ready");
  // Read but not released still counts as nothing left to wait for.
  EXPECT_TRUE(ring->consumer.PrepareExternalWait());
  ring->consumer.EndExternalWait();
}

TEST(RingTest, ExternalWakeFiresWhenConsumerWaitsElsewhere) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  int wakes = 0;
  ring->producer.set_external_wake([&] { ++wakes; });

  ASSERT_TRUE(ring->consumer.PrepareExternalWait());
  EXPECT_EQ(ring->control()->consumer_waiting.load(), kWaitingElsewhere);
  ASSERT_TRUE(ring->producer.Write(AsBytes("one"), Soon()).ok());
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(ring->control()->consumer_waiting.load(), kNotWaiting);

  // Woken once: the next publish does not call again until the consumer re-arms.
  ASSERT_TRUE(ring->producer.Write(AsBytes("two"), Soon()).ok());
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(ReadString(ring->consumer), "one");
  EXPECT_EQ(ReadString(ring->consumer), "two");
}

TEST(RingTest, ExternalWakeNotCalledAfterEndExternalWait) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  int wakes = 0;
  ring->producer.set_external_wake([&] { ++wakes; });
  ASSERT_TRUE(ring->consumer.PrepareExternalWait());
  ring->consumer.EndExternalWait();
  EXPECT_EQ(ring->control()->consumer_waiting.load(), kNotWaiting);
  ASSERT_TRUE(ring->producer.Write(AsBytes("quiet"), Soon()).ok());
  EXPECT_EQ(wakes, 0);
}

TEST(RingTest, ExternalWaitWithoutCallbackDoesNotCrash) {
  absl::StatusOr<Ring> ring = MakeRing(256);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE(ring->consumer.PrepareExternalWait());
  ASSERT_TRUE(ring->producer.Write(AsBytes("no callback"), Soon()).ok());
  EXPECT_EQ(ReadString(ring->consumer), "no callback");
}

}  // namespace
}  // namespace syslink::ring
