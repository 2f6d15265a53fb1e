// Locks through a real mount of memfs and of the passthrough, held by the server: fcntl
// record locks and flock between processes using the mount (a conflict, F_GETLK naming the
// holder, F_SETLKW waiting until the holder unlocks or exits, a signal ending the wait),
// and a lock of a direct client of the server (lock_holder) seen through the mount.
//
// Each process that locks is a forked child doing system calls only; the test waits for it
// to be asleep in its lock (a notice, then /proc's state) before it lets the lock go.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "examples/fs/fuse/mount_testing.h"
#include "examples/fs/lock_holder_testing.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"
#include "tests/support/process_event.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ProcessState;
using ::syslink::testing::ScratchDirectory;

// fcntl(fd, cmd) with a lock of `type` on [start, start + len) (len 0: to the end); 0 or
// the errno.
int SetLock(int fd, int cmd, short type, off_t start = 0, off_t len = 0) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = start;
  lock.l_len = len;
  return fcntl(fd, cmd, &lock) == 0 ? 0 : errno;
}

// Signals that only interrupt.
void Ignore(int) {}

class MountLockTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs =
        MountedMemfs::StartServer(GetParam(), host_.path());
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
    file_ = fs_->Path("f");
    fd_ = open(file_.c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd_, 0) << std::strerror(errno);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    if (HasFailure() && fs_ != nullptr) {
      std::fprintf(stderr, "fs_mount:\n%s\nserver:\n%s\n", fs_->MountLog().c_str(),
                   fs_->ServerLog().c_str());
    }
  }

  // A child that opens the file, notifies `ready`, runs `wait` (which must block on the
  // lock) and exits 0 when it returns `expected`.
  ChildProcess StartWaiter(ProcessEvent& ready, int (*wait)(int fd), int expected) {
    return ChildProcess::Fork([&] {
      const int fd = open(file_.c_str(), O_RDWR);
      if (fd < 0) return 10;
      ready.Notify();
      return wait(fd) == expected ? 0 : 11;
    });
  }
  // Returns once `child` sleeps in its lock, after its notice.
  static void AwaitAsleep(ProcessEvent& ready, const ChildProcess& child) {
    ASSERT_TRUE(ready.WaitFor(absl::Seconds(20)));
    ASSERT_TRUE(Eventually([&] { return ProcessState(child.pid()) == 'S'; }));
  }

  ScratchDirectory host_{"locks", 0755};
  std::unique_ptr<MountedMemfs> fs_;
  std::string file_;
  int fd_ = -1;
};

TEST_P(MountLockTest, AConflictingFcntlLockFailsEagainAndGetlkNamesTheHolder) {
  ASSERT_EQ(SetLock(fd_, F_SETLK, F_WRLCK, 0, 100), 0);
  const pid_t holder = getpid();
  ChildProcess child = ChildProcess::Fork([&] {
    const int fd = open(file_.c_str(), O_RDWR);
    if (fd < 0) return 10;
    if (SetLock(fd, F_SETLK, F_WRLCK, 50, 10) != EAGAIN) return 11;
    if (SetLock(fd, F_SETLK, F_RDLCK, 100, 10) != 0) return 12;  // past the holder's range
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &probe) != 0) return 13;
    if (probe.l_type != F_WRLCK || probe.l_start != 0 || probe.l_len != 100) return 14;
    if (probe.l_pid != holder) return 15;
    return 0;
  });
  EXPECT_EQ(child.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
  // The child's exit closed its descriptor, which dropped its lock.
  EXPECT_EQ(SetLock(fd_, F_SETLK, F_WRLCK, 100, 10), 0);
  struct flock probe {};
  probe.l_type = F_WRLCK;
  ASSERT_EQ(fcntl(fd_, F_GETLK, &probe), 0);
  EXPECT_EQ(probe.l_type, F_UNLCK);  // only its own locks
}

TEST_P(MountLockTest, SetlkwWaitsUntilTheHolderUnlocks) {
  ASSERT_EQ(SetLock(fd_, F_SETLK, F_WRLCK), 0);
  ProcessEvent ready;
  ChildProcess waiter = StartWaiter(
      ready, [](int fd) { return SetLock(fd, F_SETLKW, F_WRLCK); }, 0);
  AwaitAsleep(ready, waiter);
  // The mount serves others while the lock waits.
  struct stat st;
  EXPECT_EQ(stat(file_.c_str(), &st), 0);
  EXPECT_NE(ProcessState(waiter.pid()), 'Z');
  ASSERT_EQ(SetLock(fd_, F_SETLK, F_UNLCK), 0);
  EXPECT_EQ(waiter.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
}

TEST_P(MountLockTest, SetlkwWaitsUntilTheHolderIsKilled) {
  ProcessEvent locked;
  ChildProcess holder = ChildProcess::Fork([&] {
    const int fd = open(file_.c_str(), O_RDWR);
    if (fd < 0 || SetLock(fd, F_SETLK, F_WRLCK) != 0) return 10;
    locked.Notify();
    for (;;) pause();
  });
  ASSERT_TRUE(locked.WaitFor(absl::Seconds(20)));
  EXPECT_EQ(SetLock(fd_, F_SETLK, F_RDLCK, 0, 1), EAGAIN);
  ProcessEvent ready;
  ChildProcess waiter = StartWaiter(
      ready, [](int fd) { return SetLock(fd, F_SETLKW, F_WRLCK); }, 0);
  AwaitAsleep(ready, waiter);
  holder.Kill(SIGKILL);
  EXPECT_EQ(holder.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_EQ(waiter.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
}

TEST_P(MountLockTest, ASignalEndsSetlkwWithEintr) {
  ASSERT_EQ(SetLock(fd_, F_SETLK, F_WRLCK), 0);
  ProcessEvent ready;
  ChildProcess waiter = ChildProcess::Fork([&] {
    struct sigaction action {};
    action.sa_handler = Ignore;  // no SA_RESTART: the wait returns EINTR
    sigaction(SIGUSR1, &action, nullptr);
    const int fd = open(file_.c_str(), O_RDWR);
    if (fd < 0) return 10;
    ready.Notify();
    return SetLock(fd, F_SETLKW, F_WRLCK) == EINTR ? 0 : 11;
  });
  AwaitAsleep(ready, waiter);
  // Signals until one lands in the wait (one that lands before it only runs the handler).
  ASSERT_TRUE(Eventually([&] {
    kill(waiter.pid(), SIGUSR1);
    return ProcessState(waiter.pid()) == 'Z';
  }));
  EXPECT_EQ(waiter.Wait(), ChildProcess::Exited(0));
  // Nothing of the cancelled wait stays: the holder's lock is still the only one.
  ASSERT_EQ(SetLock(fd_, F_SETLK, F_UNLCK), 0);
  ChildProcess after = ChildProcess::Fork([&] {
    const int fd = open(file_.c_str(), O_RDWR);
    return fd >= 0 && SetLock(fd, F_SETLK, F_WRLCK) == 0 ? 0 : 12;
  });
  EXPECT_EQ(after.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
}

TEST_P(MountLockTest, StoppingTheMountEndsAWaitingLock) {
  ASSERT_EQ(SetLock(fd_, F_SETLK, F_WRLCK), 0);
  ProcessEvent ready;
  // Whatever the error (the kernel's, once the mount's device is closed), the wait ends.
  ChildProcess waiter = StartWaiter(
      ready, [](int fd) { return SetLock(fd, F_SETLKW, F_WRLCK) != 0 ? 1 : 0; }, 1);
  AwaitAsleep(ready, waiter);
  EXPECT_EQ(fs_->StopMount(), ChildProcess::Exited(0));  // its pending answer: no crash
  EXPECT_EQ(waiter.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
}

TEST_P(MountLockTest, FlockConflictsUntilTheHolderCloses) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0) << std::strerror(errno);
  ProcessEvent ready;
  ChildProcess waiter = ChildProcess::Fork([&] {
    close(fd_);  // a copy of the holder's open file would keep its lock
    const int fd = open(file_.c_str(), O_RDWR);
    if (fd < 0) return 10;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) return 11;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) return 12;
    ready.Notify();
    return flock(fd, LOCK_EX) == 0 ? 0 : 13;
  });
  AwaitAsleep(ready, waiter);
  close(fd_);  // the last descriptor of the open file: its flock lock goes
  fd_ = -1;
  EXPECT_EQ(waiter.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
}

TEST_P(MountLockTest, ADirectClientsFcntlLockHoldsAgainstTheMount) {
  absl::StatusOr<ChildProcess> holder = StartLockHolder(RunfilesPath("examples/fs/lock_holder"),
                                                        MountedMemfs::kServiceName, "/f", "posix");
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(SetLock(fd_, F_SETLK, F_RDLCK, 0, 1), EAGAIN);
  struct flock probe {};
  probe.l_type = F_RDLCK;
  probe.l_whence = SEEK_SET;
  ASSERT_EQ(fcntl(fd_, F_GETLK, &probe), 0) << std::strerror(errno);
  EXPECT_EQ(probe.l_type, F_WRLCK);
  EXPECT_EQ(probe.l_start, 0);
  EXPECT_EQ(probe.l_len, 0);  // to the end of the file
  EXPECT_EQ(probe.l_pid, holder->pid());
  holder->Kill(SIGKILL);
  EXPECT_EQ(holder->Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_EQ(SetLock(fd_, F_SETLKW, F_WRLCK), 0);  // once the server sees it gone
}

TEST_P(MountLockTest, ADirectClientsFlockHoldsAgainstTheMount) {
  absl::StatusOr<ChildProcess> holder = StartLockHolder(RunfilesPath("examples/fs/lock_holder"),
                                                        MountedMemfs::kServiceName, "/f", "flock");
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(flock(fd_, LOCK_SH | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  EXPECT_EQ(SetLock(fd_, F_SETLK, F_WRLCK), 0);  // fcntl locks are apart from flock's
  holder->Kill(SIGKILL);
  EXPECT_EQ(holder->Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_EQ(flock(fd_, LOCK_EX), 0) << std::strerror(errno);
}

// With several libfuse threads and links, the wait and the unlock may come through
// different ones: the one session of the mount serves both.
TEST(MountLockThreadsTest, SetlkwWaitsUntilTheHolderUnlocksOnAMountOfTwoThreads) {
  if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
  absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start({"--threads=2"});
  ASSERT_TRUE(fs.ok()) << fs.status();
  const std::string file = (*fs)->Path("f");
  const int fd = open(file.c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(SetLock(fd, F_SETLK, F_WRLCK), 0);
  ProcessEvent ready;
  ChildProcess waiter = ChildProcess::Fork([&] {
    const int child_fd = open(file.c_str(), O_RDWR);
    if (child_fd < 0) return 10;
    ready.Notify();
    return SetLock(child_fd, F_SETLKW, F_WRLCK) == 0 ? 0 : 11;
  });
  ASSERT_TRUE(ready.WaitFor(absl::Seconds(20)));
  ASSERT_TRUE(Eventually([&] { return ProcessState(waiter.pid()) == 'S'; }));
  struct stat st;
  EXPECT_EQ(stat(file.c_str(), &st), 0);
  ASSERT_EQ(SetLock(fd, F_SETLK, F_UNLCK), 0);
  EXPECT_EQ(waiter.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0));
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(Servers, MountLockTest,
                         ::testing::Values(Server::kMemfs, Server::kPassthrough), ServerName);

}  // namespace
}  // namespace syslink::examples::fs
