// Tests of ChannelMutex: one holder at a time under contention from more threads than
// CPUs, TryLock() refused while it is held, and a thread that went to sleep in Lock()
// woken by Unlock().

#include "rpc/internal/channel_mutex.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace syslink::rpc::internal {
namespace {

TEST(ChannelMutexTest, TryLockIsRefusedWhileHeldAndTakenOnceFree) {
  ChannelMutex mutex;
  ASSERT_TRUE(mutex.TryLock());
  bool taken_elsewhere = true;
  std::thread([&] {
    taken_elsewhere = mutex.TryLock();
    if (taken_elsewhere) mutex.Unlock();
  }).join();
  EXPECT_FALSE(taken_elsewhere);
  mutex.Unlock();
  EXPECT_TRUE(mutex.TryLock());
  mutex.Unlock();
}

TEST(ChannelMutexTest, OneHolderAtATimeAcrossManyThreads) {
  ChannelMutex mutex;
  constexpr int kThreads = 8;  // more than the CPUs: holders are preempted, waiters sleep
  constexpr int kRounds = 20000;
  long counter = 0;            // written only under the lock, deliberately not atomic
  std::atomic<int> inside{0};  // how many threads think they hold it
  std::atomic<bool> overlapped{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        mutex.Lock();
        if (inside.fetch_add(1, std::memory_order_relaxed) != 0) overlapped = true;
        ++counter;
        inside.fetch_sub(1, std::memory_order_relaxed);
        mutex.Unlock();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(counter, long{kThreads} * kRounds);
}

// The kernel's state of thread `tid` of this process ('S': asleep in a wait).
char ThreadState(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // The state follows the command's closing parenthesis: "pid (comm) S ...".
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

TEST(ChannelMutexTest, AThreadAsleepInLockIsWokenByUnlock) {
  ChannelMutex mutex;
  mutex.Lock();
  std::atomic<pid_t> waiter_tid{0};
  std::atomic<bool> took{false};
  std::thread waiter([&] {
    waiter_tid = static_cast<pid_t>(syscall(SYS_gettid));
    mutex.Lock();
    took = true;
    mutex.Unlock();
  });
  while (waiter_tid.load() == 0) std::this_thread::yield();
  // Past its spin, the waiter sleeps in futex(2) for as long as the lock is held.
  while (ThreadState(waiter_tid.load()) != 'S') std::this_thread::yield();
  EXPECT_FALSE(took);
  mutex.Unlock();
  waiter.join();  // hangs (the test times out) if Unlock() did not wake it
  EXPECT_TRUE(took);
}

}  // namespace
}  // namespace syslink::rpc::internal
