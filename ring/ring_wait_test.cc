// Tests of waiting on a ring in one process: deadlines, a sleeping or spinning side woken by
// the other thread, Drain(), and waiting outside the ring (the external wake).

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

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
#include "tests/support/proc_state.h"

namespace syslink::ring {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;
using ::syslink::testing::ThreadCpuTime;
using ::syslink::testing::ThreadState;
using ::testing::HasSubstr;

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
    for (int i = 0; i < 7; ++i) {  // fill the ring, unpublished: 32 bytes stay free
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
