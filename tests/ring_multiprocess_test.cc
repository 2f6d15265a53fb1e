// Rings shared by real processes: a forked child on one side, this process on the other.
//
// The child maps the ring from the inherited memfd (shared regions are MADV_DONTFORK, so
// the mapping itself is not inherited), exactly as a process that received the descriptor
// over a socket would.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/internal/heavy_barrier.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::ring {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ProcessState;

constexpr size_t kCapacity = 64 << 10;
constexpr size_t kMaxRecord = kCapacity / 4;  // records of 1 byte to a quarter of the ring

// Exit codes of a child, so that a failure says where it happened.
enum ChildExit : int {
  kOk = 0,
  kMapFailed = 10,
  kAttachFailed = 11,
  kReserveFailed = 12,
  kDrainFailed = 13,
  kReadFailed = 14,
  kWrongRecord = 15,
  kRingBroken = 16,
};

// The records a producer sends: record n's size and bytes are a function of n, so the
// consumer checks every byte of every record against what was sent, and a lost,
// repeated, reordered or torn record cannot go unnoticed.
class RecordStream {
 public:
  RecordStream() : pattern_(kPatternSpan + kMaxRecord) {
    std::mt19937_64 random(42);
    for (std::byte& b : pattern_) b = static_cast<std::byte>(random());
  }

  // Mostly small records, with a long tail up to kMaxRecord (log-uniform).
  static size_t SizeOf(uint64_t n) {
    uint64_t h = Mix(n);
    if (h % 10 != 0) return 1 + (h >> 8) % 64;
    int bits = static_cast<int>((h >> 4) % 15);  // 2^14 = kMaxRecord
    return std::min<size_t>(kMaxRecord, 1 + (h >> 20) % (uint64_t{1} << bits));
  }

  const std::byte* BytesOf(uint64_t n) const {
    return pattern_.data() + Mix(n ^ 0x9e3779b97f4a7c15) % kPatternSpan;
  }

  bool Matches(uint64_t n, std::span<const std::byte> payload) const {
    return payload.size() == SizeOf(n) &&
           std::memcmp(payload.data(), BytesOf(n), payload.size()) == 0;
  }

 private:
  static constexpr size_t kPatternSpan = 64 << 10;
  static uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
    x += 0x9e3779b97f4a7c15;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
    x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
    return x ^ (x >> 31);
  }
  std::vector<std::byte> pattern_;
};

SharedRegion MakeRing(WaitMode mode) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("test-ring", RingFootprint(kCapacity));
  EXPECT_TRUE(region.ok()) << region.status();
  EXPECT_TRUE(InitializeRing(region->bytes(), mode).ok());
  return *std::move(region);
}

// In a child: maps the ring behind the inherited descriptor.
std::optional<SharedRegion> MapInChild(int fd) {
  absl::StatusOr<SharedRegion> region =
      SharedRegion::Map(UniqueFd(dup(fd)), RingFootprint(kCapacity));
  if (!region.ok()) return std::nullopt;
  return *std::move(region);
}

// In a child: sends records [0, count) (forever if count is 0), publishing them in batches
// of 1 to 8, and waits for the consumer to read them all.
int ProduceRecords(int fd, WaitOptions options, uint64_t count) {
  std::optional<SharedRegion> region = MapInChild(fd);
  if (!region) return kMapFailed;
  absl::StatusOr<RingProducer> producer = RingProducer::Attach(region->bytes(), options);
  if (!producer.ok()) return kAttachFailed;
  RecordStream stream;
  absl::Time deadline = absl::Now() + absl::Minutes(5);
  for (uint64_t n = 0; count == 0 || n < count; ++n) {
    size_t size = RecordStream::SizeOf(n);
    absl::StatusOr<std::byte*> space = producer->Reserve(size, deadline);
    if (!space.ok()) return kReserveFailed;
    std::memcpy(*space, stream.BytesOf(n), size);
    producer->Commit(size);
    if (n % 8 == n / 8 % 8) producer->Publish();  // batches of varying length
  }
  return producer->Drain(deadline).ok() ? kOk : kDrainFailed;
}

class RingAcrossProcessesTest : public ::testing::TestWithParam<WaitMode> {};

TEST_P(RingAcrossProcessesTest, TenMillionRandomRecordsArriveIntact) {
  constexpr uint64_t kRecords = 10'000'000;
  WaitOptions options{.mode = GetParam()};
  SharedRegion region = MakeRing(options.mode);
  ChildProcess producer =
      ChildProcess::Fork([&] { return ProduceRecords(region.fd(), options, kRecords); });

  absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(region.bytes(), options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  RecordStream stream;
  absl::Time deadline = absl::Now() + absl::Minutes(5);
  uint64_t bytes = 0;
  for (uint64_t n = 0; n < kRecords; ++n) {
    absl::StatusOr<Record> record = consumer->Read(deadline);
    ASSERT_TRUE(record.ok()) << "record " << n << ": " << record.status();
    ASSERT_TRUE(stream.Matches(n, record->payload))
        << "record " << n << " has " << record->payload.size() << " bytes, expected "
        << RecordStream::SizeOf(n) << " bytes of the stream";
    bytes += record->payload.size();
    if (n % 4 == 3) consumer->Release();  // release in batches
  }
  consumer->Release();
  EXPECT_EQ(producer.Wait(), ChildProcess::Exited(kOk));
  absl::StatusOr<std::optional<Record>> extra = consumer->TryRead();
  ASSERT_TRUE(extra.ok()) << extra.status();
  EXPECT_FALSE(extra->has_value()) << "a record beyond the last one sent";
  RecordProperty("bytes", absl::StrCat(bytes));
}

INSTANTIATE_TEST_SUITE_P(AllModes, RingAcrossProcessesTest,
                         ::testing::Values(WaitMode::kSpin, WaitMode::kHybrid, WaitMode::kBlocking),
                         [](const auto& info) { return std::string(WaitModeName(info.param)); });

class SleepingConsumerTest : public ::testing::TestWithParam<WaitMode> {};

TEST_P(SleepingConsumerTest, ConsumerThatFellAsleepIsWokenByTheProducer) {
  WaitOptions options{.mode = GetParam(), .spin_budget = absl::Microseconds(200)};
  SharedRegion region = MakeRing(options.mode);
  const std::string message = "wake up";
  ChildProcess consumer_process = ChildProcess::Fork([&] {
    std::optional<SharedRegion> mine = MapInChild(region.fd());
    if (!mine) return int{kMapFailed};
    absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(mine->bytes(), options);
    if (!consumer.ok()) return int{kAttachFailed};
    absl::StatusOr<Record> record = consumer->Read(absl::Now() + absl::Seconds(30));
    if (!record.ok()) return int{kReadFailed};
    std::string got(reinterpret_cast<const char*>(record->payload.data()), record->payload.size());
    return got == message ? int{kOk} : int{kWrongRecord};
  });

  // Wait until the consumer has announced that it sleeps and the kernel has it asleep.
  absl::StatusOr<RingControl*> control = CheckRingControl(region.bytes(), options.mode);
  ASSERT_TRUE(control.ok());
  Eventually([&] {
    return (*control)->consumer_waiting.load() == kWaitingOnFutex &&
           ProcessState(consumer_process.pid()) == 'S';
  });
  ASSERT_EQ((*control)->consumer_waiting.load(), kWaitingOnFutex);
  ASSERT_EQ(ProcessState(consumer_process.pid()), 'S');

  absl::StatusOr<RingProducer> producer = RingProducer::Attach(region.bytes(), options);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE(producer
                  ->Write(std::as_bytes(std::span(message.data(), message.size())),
                          absl::Now() + absl::Seconds(1))
                  .ok());
  EXPECT_EQ(consumer_process.WaitFor(absl::Seconds(10)), ChildProcess::Exited(kOk));
  EXPECT_EQ((*control)->consumer_waiting.load(), kNotWaiting);
}

INSTANTIATE_TEST_SUITE_P(SleepingModes, SleepingConsumerTest,
                         ::testing::Values(WaitMode::kHybrid, WaitMode::kBlocking),
                         [](const auto& info) { return std::string(WaitModeName(info.param)); });

// This process waits with no spin budget, so it goes to sleep on nearly every round trip;
// the child echoes each record after a random pause of up to 8 us, so its wake-ups often
// land while this process is between announcing its sleep and looking at the ring once
// more: the moment a missing barrier loses a wake-up. A side that issues heavy barriers
// before it sleeps is woken without a fence (ring/internal/heavy_barrier.h); the parameter
// says whether the child may issue them: when it may not, it wakes with a fence. A lost
// wake-up leaves this process asleep until its deadline, and the test fails.
class SleepBarrierTest : public ::testing::TestWithParam<bool> {};

TEST_P(SleepBarrierTest, RoundTripsWhereEveryWaitMaySleepLoseNoWakeUp) {
  constexpr uint64_t kRoundTrips = 50'000;
  constexpr absl::Duration kPatience = absl::Seconds(20);  // per wait; a round trip takes us
  const WaitOptions sleepy{.mode = WaitMode::kHybrid, .spin_budget = absl::ZeroDuration()};
  const WaitOptions busy{.mode = WaitMode::kHybrid, .spin_budget = absl::Seconds(1)};
  const bool child_heavy = GetParam();
  SharedRegion there = MakeRing(WaitMode::kHybrid);
  SharedRegion back = MakeRing(WaitMode::kHybrid);
  ChildProcess echo = ChildProcess::Fork([&] {
    internal::DisableHeavyBarriersForTesting(!child_heavy);
    std::optional<SharedRegion> in_region = MapInChild(there.fd());
    std::optional<SharedRegion> out_region = MapInChild(back.fd());
    if (!in_region || !out_region) return int{kMapFailed};
    absl::StatusOr<RingConsumer> in = RingConsumer::Attach(in_region->bytes(), busy);
    absl::StatusOr<RingProducer> out = RingProducer::Attach(out_region->bytes(), busy);
    if (!in.ok() || !out.ok()) return int{kAttachFailed};
    std::mt19937 random(7);
    for (uint64_t n = 0; n < kRoundTrips; ++n) {
      absl::StatusOr<Record> record = in->Read(absl::Now() + kPatience);
      if (!record.ok()) return int{kReadFailed};
      const absl::Time resume = absl::Now() + absl::Nanoseconds(random() % 8000);
      while (absl::Now() < resume) {
      }
      if (!out->Write(record->payload, absl::Now() + kPatience).ok()) return int{kReserveFailed};
      in->Release();
    }
    return int{kOk};
  });

  absl::StatusOr<RingProducer> out = RingProducer::Attach(there.bytes(), sleepy);
  absl::StatusOr<RingConsumer> in = RingConsumer::Attach(back.bytes(), sleepy);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(in.ok()) << in.status();
  for (uint64_t n = 0; n < kRoundTrips; ++n) {
    ASSERT_TRUE(out->Write(std::as_bytes(std::span(&n, 1)), absl::Now() + kPatience).ok());
    absl::StatusOr<Record> reply = in->Read(absl::Now() + kPatience);
    ASSERT_TRUE(reply.ok()) << "round trip " << n << ": " << reply.status();
    uint64_t echoed = ~n;
    ASSERT_EQ(reply->payload.size(), sizeof(echoed));
    std::memcpy(&echoed, reply->payload.data(), sizeof(echoed));
    ASSERT_EQ(echoed, n);
    in->Release();
  }
  EXPECT_EQ(echo.WaitFor(kPatience), ChildProcess::Exited(kOk));

  // What each consumer promised its producer.
  const bool heavy_here = internal::HeavyBarriersAvailable();
  absl::StatusOr<RingControl*> child_in = CheckRingControl(there.bytes(), WaitMode::kHybrid);
  absl::StatusOr<RingControl*> parent_in = CheckRingControl(back.bytes(), WaitMode::kHybrid);
  ASSERT_TRUE(child_in.ok() && parent_in.ok());
  EXPECT_EQ((*child_in)->consumer_sleep_barrier.load(),
            child_heavy && heavy_here ? kSleepBarrierHeavy : kSleepBarrierFence);
  EXPECT_EQ((*parent_in)->consumer_sleep_barrier.load(),
            heavy_here ? kSleepBarrierHeavy : kSleepBarrierFence);
}

INSTANTIATE_TEST_SUITE_P(ChildBarriers, SleepBarrierTest, ::testing::Bool(), [](const auto& info) {
  return std::string(info.param ? "ChildHeavy" : "ChildFences");
});

// Reads records in sequence until none is left. Returns how many, or -1 on a bad one.
int64_t ConsumeAll(RingConsumer& consumer, const RecordStream& stream) {
  int64_t n = 0;
  while (true) {
    absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
    if (!record.ok()) {
      ADD_FAILURE() << "record " << n << ": " << record.status();
      return -1;
    }
    if (!record->has_value()) return n;
    if (!stream.Matches(n, (*record)->payload)) {
      ADD_FAILURE() << "record " << n << " does not match what was sent";
      return -1;
    }
    ++n;
    consumer.Release();
  }
}

TEST(RingProducerDeathTest, RecordHalfWrittenWhenKilledNeverBecomesVisible) {
  constexpr uint64_t kPublished = 100;
  WaitOptions options{.mode = WaitMode::kHybrid};
  SharedRegion region = MakeRing(options.mode);
  absl::StatusOr<SharedRegion> flag_page = SharedRegion::Create("halfway", 4096);
  ASSERT_TRUE(flag_page.ok());
  auto* halfway = reinterpret_cast<std::atomic<int>*>(flag_page->data());

  ChildProcess producer_process = ChildProcess::Fork([&] {
    std::optional<SharedRegion> mine = MapInChild(region.fd());
    absl::StatusOr<SharedRegion> flag = SharedRegion::Map(UniqueFd(dup(flag_page->fd())), 4096);
    if (!mine || !flag.ok()) return int{kMapFailed};
    absl::StatusOr<RingProducer> producer = RingProducer::Attach(mine->bytes(), options);
    if (!producer.ok()) return int{kAttachFailed};
    RecordStream stream;
    for (uint64_t n = 0; n < kPublished; ++n) {
      size_t size = RecordStream::SizeOf(n);
      absl::StatusOr<std::byte*> space = producer->TryReserve(size);
      if (!space.ok() || *space == nullptr) return int{kReserveFailed};
      std::memcpy(*space, stream.BytesOf(n), size);
      producer->Commit(size);
    }
    producer->Publish();
    // One record committed but never published...
    absl::StatusOr<std::byte*> space = producer->TryReserve(100);
    if (!space.ok() || *space == nullptr) return int{kReserveFailed};
    std::memset(*space, 0xcd, 100);
    producer->Commit(100);
    // ...and one half-written when the kill comes.
    space = producer->TryReserve(1000);
    if (!space.ok() || *space == nullptr) return int{kReserveFailed};
    std::memset(*space, 0xab, 500);
    reinterpret_cast<std::atomic<int>*>(flag->data())->store(1);
    while (true) pause();
  });

  Eventually([&] { return halfway->load() != 0; }, absl::Seconds(30));
  ASSERT_EQ(halfway->load(), 1) << "the producer never got halfway";
  producer_process.Kill(SIGKILL);
  ASSERT_EQ(producer_process.Wait(), ChildProcess::KilledBy(SIGKILL));

  absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(region.bytes(), options);
  ASSERT_TRUE(consumer.ok());
  RecordStream stream;
  EXPECT_EQ(ConsumeAll(*consumer, stream), int64_t{kPublished});
  EXPECT_TRUE(consumer->status().ok()) << consumer->status();

  // A new producer (a survivor or the broker) takes over from the last published index;
  // the dead producer's half-written bytes are overwritten, never read.
  absl::StatusOr<RingProducer> successor = RingProducer::Attach(region.bytes(), options);
  ASSERT_TRUE(successor.ok());
  const std::string after = "written by the successor";
  ASSERT_TRUE(successor
                  ->Write(std::as_bytes(std::span(after.data(), after.size())),
                          absl::Now() + absl::Seconds(1))
                  .ok());
  absl::StatusOr<Record> record = consumer->Read(absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(record->payload.data()), record->payload.size()),
      after);
}

TEST(RingProducerDeathTest, KilledAtRandomMomentsLeavesOnlyWholeRecords) {
  std::mt19937 random(7);
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    WaitOptions options{.mode = round % 2 == 0 ? WaitMode::kSpin : WaitMode::kHybrid};
    SharedRegion region = MakeRing(options.mode);
    ChildProcess producer_process =
        ChildProcess::Fork([&] { return ProduceRecords(region.fd(), options, 0); });
    absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(region.bytes(), options);
    ASSERT_TRUE(consumer.ok());
    RecordStream stream;
    // Consume for a random while, so the kill lands anywhere in the producer's loop.
    absl::Time kill_at = absl::Now() + absl::Microseconds(random() % 20000);
    int64_t consumed = 0;
    while (absl::Now() < kill_at) {
      absl::StatusOr<std::optional<Record>> record = consumer->TryRead();
      ASSERT_TRUE(record.ok()) << record.status();
      if (!record->has_value()) continue;
      ASSERT_TRUE(stream.Matches(consumed, (*record)->payload)) << "record " << consumed;
      ++consumed;
      consumer->Release();
    }
    producer_process.Kill(SIGKILL);
    ASSERT_EQ(producer_process.Wait(), ChildProcess::KilledBy(SIGKILL));
    // Whatever was published is whole; nothing after it is visible.
    int64_t rest = 0;
    while (true) {
      absl::StatusOr<std::optional<Record>> record = consumer->TryRead();
      ASSERT_TRUE(record.ok()) << record.status();
      if (!record->has_value()) break;
      ASSERT_TRUE(stream.Matches(consumed + rest, (*record)->payload))
          << "record " << consumed + rest;
      ++rest;
      consumer->Release();
    }
    EXPECT_TRUE(consumer->status().ok());
  }
}

}  // namespace
}  // namespace syslink::ring
