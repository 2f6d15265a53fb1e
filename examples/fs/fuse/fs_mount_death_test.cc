// A mounted server's death and return, with real processes: memfs killed with kill -9
// while dd reads through the mount, calls failing at once while it is gone, the mount
// working again once memfs is back, and nodes of the old server answering ESTALE.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;
using ::testing::HasSubstr;

class FsMountDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start();
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
    ToolRun dd = RunTool(
        {"dd", "if=/dev/zero", "of=" + fs_->Path("big"), "bs=128K", "count=128", "status=none"});
    ASSERT_EQ(dd.how, ChildProcess::Exited(0)) << dd.err;
  }

  // Waits (at most 20 s) until a file can be made in the mount's root: memfs is back and
  // the mount has reconnected.
  bool WaitUntilWritable(const std::string& name) {
    return Eventually(
        [&] {
          const int fd = open(fs_->Path(name).c_str(), O_CREAT | O_WRONLY, 0644);
          if (fd < 0) return false;
          close(fd);
          return true;
        },
        absl::Seconds(20), absl::Milliseconds(20));
  }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(FsMountDeathTest, DdInFlightFailsWithEnotconnWhenMemfsIsKilled) {
  // dd reads the file again and again (O_DIRECT: every block from the server) until a read
  // fails; its message says why.
  const std::string loop = "while dd if=" + fs_->Path("big") +
                           " of=/dev/null bs=128K iflag=direct status=none; do :; done";
  ChildProcess reader = ChildProcess::Fork([&] {
    ToolRun run = RunShell(loop, absl::Seconds(30));
    std::fputs(run.err.c_str(), stderr);
    return run.err.find("Transport endpoint is not connected") != std::string::npos ? 0 : 1;
  });
  absl::SleepFor(absl::Milliseconds(300));  // reads are in flight all the time
  EXPECT_EQ(fs_->KillMemfs(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_EQ(reader.WaitFor(absl::Seconds(40)), ChildProcess::Exited(0));
}

TEST_F(FsMountDeathTest, CallsFailAtOnceWithEnotconnWhileTheServerIsGone) {
  (void)fs_->KillMemfs();
  absl::SleepFor(absl::Milliseconds(100));  // the mount notices by itself
  for (const char* name : {"never-seen", "big", "other"}) {
    const absl::Time start = absl::Now();
    struct stat st;
    errno = 0;
    EXPECT_NE(open(fs_->Path(name).c_str(), O_RDONLY), 0);
    EXPECT_EQ(errno, ENOTCONN) << name;
    EXPECT_NE(stat(fs_->Path(std::string(name) + "-x").c_str(), &st), 0);
    EXPECT_EQ(errno, ENOTCONN);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << name;
  }
}

TEST_F(FsMountDeathTest, TheMountWorksAgainWhenMemfsReturns) {
  (void)fs_->KillMemfs();
  ASSERT_TRUE(fs_->StartMemfs().ok());
  ASSERT_TRUE(WaitUntilWritable("after")) << fs_->MountLog();
  ToolRun ls = RunTool({"ls", "-A", fs_->mountpoint()});
  EXPECT_EQ(ls.how, ChildProcess::Exited(0)) << ls.err;
  EXPECT_EQ(ls.out, "after\n");  // a new, empty memfs: "big" went with the old one
}

TEST_F(FsMountDeathTest, AFileOpenedOnTheOldServerAnswersEstale) {
  const int old_fd = open(fs_->Path("big").c_str(), O_RDONLY | O_DIRECT);
  ASSERT_GE(old_fd, 0);
  (void)fs_->KillMemfs();
  ASSERT_TRUE(fs_->StartMemfs().ok());
  ASSERT_TRUE(WaitUntilWritable("big")) << fs_->MountLog();  // the same name, a new file
  alignas(4096) static char block[128 * 1024];
  errno = 0;
  EXPECT_EQ(pread(old_fd, block, sizeof(block), 0), -1);
  EXPECT_EQ(errno, ESTALE);
  close(old_fd);
  struct stat st;
  ASSERT_EQ(stat(fs_->Path("big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);  // the new file, not the old one's 16 MiB
}

TEST_F(FsMountDeathTest, OldPathsResolveInTheNewServer) {
  ASSERT_EQ(mkdir(fs_->Path("dir").c_str(), 0755), 0);
  struct stat st;
  ASSERT_EQ(stat(fs_->Path("dir").c_str(), &st), 0);
  (void)fs_->KillMemfs();
  ASSERT_TRUE(fs_->StartMemfs().ok());
  ASSERT_TRUE(WaitUntilWritable("after")) << fs_->MountLog();
  // The kernel may trust its old entry for up to the entry timeout (1 s); then the name is
  // looked up in the new server, which has no "dir". Never the old node.
  int error = 0;
  Eventually(
      [&] {
        errno = 0;
        error = stat(fs_->Path("dir").c_str(), &st) == 0 ? 0 : errno;
        if (error == ENOENT) return true;
        EXPECT_TRUE(error == ESTALE || error == 0) << error;
        return false;
      },
      kPatience, absl::Milliseconds(50));
  EXPECT_EQ(error, ENOENT);
}

TEST_F(FsMountDeathTest, SigtermUnmountsCleanly) {
  EXPECT_EQ(fs_->StopMount(), ChildProcess::Exited(0)) << fs_->MountLog();
  EXPECT_FALSE(IsMounted(fs_->mountpoint()));
}

TEST_F(FsMountDeathTest, AKilledMountFailsCallsInsteadOfHanging) {
  kill(fs_->mount_pid(), SIGKILL);
  absl::SleepFor(absl::Milliseconds(100));
  struct stat st;
  errno = 0;
  EXPECT_NE(stat(fs_->Path("big").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOTCONN);
  // Teardown unmounts what is left (the fixture's job, checked by every test's cleanup).
}

}  // namespace
}  // namespace syslink::examples::fs
