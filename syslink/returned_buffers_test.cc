// Buffers given back on threads other than their end's (Link::ReturnBuffersFromAnyThread):
// queued, handed back by the end's next call, waking a thread asleep on the end or waiting
// for arena room, and never racing the end's own thread for its ring or arena.

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "syslink/link.h"
#include "tests/support/eventually.h"
#include "tests/support/link_pair.h"
#include "tests/support/proc_state.h"

namespace syslink {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::MakePair;
using ::syslink::testing::Options;
using ::syslink::testing::Soon;
using ::syslink::testing::ThreadState;

constexpr size_t kBuffer = 128 * 1024;

// 1 MiB arenas: eight buffers of kBuffer fill one.
LinkOptions Small(ring::WaitMode mode = ring::WaitMode::kHybrid) {
  return Options(mode, 64 * 1024, 1024 * 1024);
}

// Every buffer of kBuffer that `end`'s arena holds.
std::vector<DmaBuffer> FillArena(Link& end) {
  std::vector<DmaBuffer> held;
  while (true) {
    absl::StatusOr<DmaBuffer> buffer = end.AllocateBuffer(kBuffer);
    if (!buffer.ok()) return held;
    held.push_back(*std::move(buffer));
  }
}

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

// The server answers a request with `text` in a buffer of its arena, attached to the reply.
void AnswerWithBuffer(Link& server, const std::string& text) {
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  absl::StatusOr<DmaBuffer> attach = server.AllocateBuffer(text.size());
  ASSERT_TRUE(attach.ok()) << attach.status();
  std::memcpy(attach->data().data(), text.data(), text.size());
  attach->resize(text.size());
  ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), {}, {.attach = *std::move(attach)}).ok());
}

TEST(ReturnedBuffersTest, APeerBufferDroppedElsewhereIsReleasedByTheEndsNextCall) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<int> returns = client.ReturnBuffersFromAnyThread();
  ASSERT_TRUE(returns.ok()) << returns.status();
  ASSERT_TRUE(client.Send(1, {}).ok());
  AnswerWithBuffer(server, "hello");
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_TRUE(reply->peer_buffer.valid());
  EXPECT_FALSE(Readable(*returns));

  std::thread([message = *std::move(reply)] {}).join();  // dropped on another thread
  EXPECT_TRUE(Readable(*returns));
  // Queued, not sent: the server has not had its buffer back.
  EXPECT_EQ(server.Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(server.stats().arena_free_bytes, server.stats().arena_bytes);

  EXPECT_TRUE(client.PrepareToPoll());  // the client's next call sends the release
  EXPECT_FALSE(Readable(*returns));
  EXPECT_EQ(server.Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(server.stats().arena_free_bytes, server.stats().arena_bytes);
}

TEST(ReturnedBuffersTest, ADmaBufferDroppedElsewhereGoesBackToTheArena) {
  auto [client, server] = MakePair(Small());
  ASSERT_TRUE(client.ReturnBuffersFromAnyThread().ok());
  std::vector<DmaBuffer> held = FillArena(client);
  ASSERT_EQ(held.size(), 8u);
  std::thread([buffers = std::move(held)] {}).join();
  EXPECT_EQ(client.stats().arena_free_bytes, 0u);  // queued until the end's next call
  absl::StatusOr<DmaBuffer> again = client.AllocateBuffer(kBuffer);
  EXPECT_TRUE(again.ok()) << again.status();
  again = DmaBuffer();
  EXPECT_TRUE(client.PrepareToPoll());
  EXPECT_EQ(client.stats().arena_free_bytes, client.stats().arena_bytes);
}

TEST(ReturnedBuffersTest, AnAllocationWaitingForRoomWakesForABufferDroppedElsewhere) {
  auto [client, server] = MakePair(Small(ring::WaitMode::kBlocking));
  ASSERT_TRUE(client.ReturnBuffersFromAnyThread().ok());
  std::vector<DmaBuffer> held = FillArena(client);
  ASSERT_EQ(held.size(), 8u);
  std::atomic<pid_t> waiter_tid{0};
  absl::StatusOr<DmaBuffer> allocated;
  std::thread waiter([&] {
    waiter_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
    allocated = client.AllocateBuffer(kBuffer, Soon());
  });
  // Dropped once the allocating thread sleeps (in poll(): nothing else blocks it).
  ASSERT_TRUE(Eventually([&] { return waiter_tid.load() != 0; }));
  ASSERT_TRUE(Eventually([&] { return ThreadState(waiter_tid.load()) == 'S'; }));
  held.pop_back();
  waiter.join();
  EXPECT_TRUE(allocated.ok()) << allocated.status();
}

// The race this queue exists for: replies' buffers dropped on other threads while the
// end's thread keeps sending and receiving. Every buffer comes back (far more are attached
// than the server's arena holds) and the client's ring stays sound.
TEST(ReturnedBuffersTest, BuffersDroppedOnManyThreadsWhileTheEndIsBusyAllComeBack) {
  constexpr int kCalls = 2000;
  constexpr int kDroppers = 3;
  auto [client, server] = MakePair(Small(ring::WaitMode::kSpin));
  ASSERT_TRUE(client.ReturnBuffersFromAnyThread().ok());
  std::thread serving([&server = server] {
    for (int i = 0; i < kCalls; ++i) {
      absl::StatusOr<Message> request = server.Receive(Soon());
      if (!request.ok()) return;
      // Waits for the client's releases when the arena is full.
      absl::StatusOr<DmaBuffer> attach = server.AllocateBuffer(kBuffer / 2, Soon());
      if (!attach.ok()) return;
      std::memset(attach->data().data(), i & 0xff, attach->size());
      if (!server.Reply(request->id, absl::OkStatus(), {}, {.attach = *std::move(attach)}).ok()) {
        return;
      }
    }
  });
  absl::Mutex mutex;
  absl::CondVar changed;
  std::deque<Message> to_drop;
  bool done = false;
  std::vector<std::thread> droppers;
  for (int d = 0; d < kDroppers; ++d) {
    droppers.emplace_back([&] {
      while (true) {
        Message message;
        {
          absl::MutexLock lock(&mutex);
          while (to_drop.empty() && !done) changed.Wait(&mutex);
          if (to_drop.empty()) return;
          message = std::move(to_drop.front());
          to_drop.pop_front();
        }
      }  // the Message, and its buffer, go here
    });
  }
  int answered = 0;
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Message> reply = client.Call(1, {}, {}, Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_TRUE(reply->status.ok()) << reply->status;
    ASSERT_EQ(reply->peer_buffer.size(), kBuffer / 2);
    if (reply->peer_buffer.data()[0] == static_cast<std::byte>(i & 0xff)) ++answered;
    absl::MutexLock lock(&mutex);
    to_drop.push_back(*std::move(reply));
    changed.Signal();
  }
  {
    absl::MutexLock lock(&mutex);
    done = true;
    changed.SignalAll();
  }
  for (std::thread& dropper : droppers) dropper.join();
  serving.join();
  EXPECT_EQ(answered, kCalls);
  EXPECT_TRUE(client.status().ok()) << client.status();
  EXPECT_TRUE(client.PrepareToPoll());  // sends the last releases
  ASSERT_TRUE(Eventually([&] {
    (void)server.Receive(absl::InfinitePast());
    return server.stats().arena_free_bytes == server.stats().arena_bytes;
  }));
}

}  // namespace
}  // namespace syslink
