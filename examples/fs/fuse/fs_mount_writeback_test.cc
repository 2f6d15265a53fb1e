// fs_mount --writeback: the kernel keeps written pages and sends them later. What must
// still hold: bytes reach the server by close(2), appends land at the end, a file the
// caller may only write can be written, and the server's errors show at fsync(2) or
// close(2) rather than being lost.

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"
#include "tests/support/other_user.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::CanRunAsOtherUsers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ForkAs;
using ::syslink::testing::kNeedsRoot;
using ::syslink::testing::kNobodyUser;

class MountWritebackTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> memfs_args = {"--size", "64M"},
             std::vector<std::string> more_mount_args = {}) {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    std::vector<std::string> mount_args = {"--writeback", "-o", "allow_other"};
    mount_args.insert(mount_args.end(), more_mount_args.begin(), more_mount_args.end());
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start(mount_args, memfs_args);
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }
  // The file's bytes as the server has them: the page cache dropped first.
  std::string ServerBytes(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    std::string bytes;
    char buffer[65536];
    for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) bytes.append(buffer, n);
    close(fd);
    return bytes;
  }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(MountWritebackTest, BytesReachTheServerByClose) {
  Start();
  const std::string path = fs_->Path("f");
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  std::string bytes(300000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 251);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(pwrite(fd, "patch", 5, 1000), 5);  // part of a page
  ASSERT_EQ(close(fd), 0);
  bytes.replace(1000, 5, "patch");
  EXPECT_TRUE(ServerBytes(path) == bytes);
}

TEST_F(MountWritebackTest, AppendsLandAtTheEnd) {
  Start();
  const std::string path = fs_->Path("log");
  for (const char* line : {"one\n", "two\n", "three\n"}) {
    const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, line, std::strlen(line)), static_cast<ssize_t>(std::strlen(line)));
    ASSERT_EQ(close(fd), 0);
  }
  EXPECT_EQ(ServerBytes(path), "one\ntwo\nthree\n");
}

TEST_F(MountWritebackTest, AFileTheCallerMayOnlyWriteCanBeWritten) {
  if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
  Start({"--size", "64M", "--root-mode", "0777"});
  const std::string parent = fs_->mountpoint().substr(0, fs_->mountpoint().rfind('/'));
  ASSERT_EQ(chmod(parent.c_str(), 0755), 0);
  const std::string path = fs_->Path("drop-box");
  ChildProcess child = ForkAs(kNobodyUser, [&] {
    const int made = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0200);
    if (made < 0 || close(made) != 0) return 1;
    const int fd = open(path.c_str(), O_WRONLY);
    if (fd < 0) return 2;
    if (write(fd, "secret", 6) != 6) return 3;
    return close(fd) == 0 ? 0 : 4;
  });
  EXPECT_EQ(child.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0)) << fs_->MountLog();
  EXPECT_EQ(ServerBytes(path), "secret");
}

// The kernel sends cached pages with no caller (as root's): they go as the handle's
// opener, so a set-ID file another user writes loses its bits, as on a local filesystem.
TEST_F(MountWritebackTest, AnotherUsersWriteDropsSetIdBits) {
  if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
  // Attributes not cached: stat(2) below asks the server.
  Start({"--size", "64M", "--root-mode", "0777"}, {"--attr-timeout=0"});
  const std::string parent = fs_->mountpoint().substr(0, fs_->mountpoint().rfind('/'));
  ASSERT_EQ(chmod(parent.c_str(), 0755), 0);
  const std::string path = fs_->Path("set-id");
  const int made = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  ASSERT_GE(made, 0) << std::strerror(errno);
  ASSERT_EQ(close(made), 0);
  ASSERT_EQ(chmod(path.c_str(), 04777), 0);
  ChildProcess child = ForkAs(kNobodyUser, [&] {
    const int fd = open(path.c_str(), O_WRONLY);
    if (fd < 0) return 1;
    if (write(fd, "data", 4) != 4) return 2;
    return close(fd) == 0 ? 0 : 3;
  });
  EXPECT_EQ(child.WaitFor(absl::Seconds(30)), ChildProcess::Exited(0)) << fs_->MountLog();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  EXPECT_EQ(ServerBytes(path), "data");
}

TEST_F(MountWritebackTest, TheServersErrorsShowAtFsyncOrClose) {
  Start({"--size", "1M"});
  const std::string path = fs_->Path("big");
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  const std::string chunk(1 << 20, 'x');
  bool failed = false;
  for (int i = 0; i < 4 && !failed; ++i) {
    failed = write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size());
  }
  failed = fsync(fd) != 0 || failed;
  failed = close(fd) != 0 || failed;
  EXPECT_TRUE(failed) << "4 MiB into a 1 MiB memfs, and nobody heard of ENOSPC";
}

}  // namespace
}  // namespace syslink::examples::fs
