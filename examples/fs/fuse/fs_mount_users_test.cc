// The mount acts as the user who calls: real processes of two users (run with setuid as
// uid 65534 and 65533, so the test needs root) use one mount with -o allow_other, on memfs
// and on the passthrough. fs_mount runs as root, which both servers trust to name each
// request's caller (fs.proto's on_behalf_of), so files belong to whoever made them and the
// servers check each user's own rights, supplementary groups included, as a local
// filesystem does.

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/other_user.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::CanRunAsOtherUsers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ForkAs;
using ::syslink::testing::kNeedsRoot;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::UserIdentity;

constexpr gid_t kProjects = 4444;
// The creator, in a supplementary group too, and a stranger.
const UserIdentity kCreator = {65534, 65534, {kProjects}};
const UserIdentity kStranger = {65533, 65533, {}};

// Fails the child (exit 1) with what went wrong when `ok` is false.
bool Expect(bool ok, const std::string& what) {
  if (!ok)
    std::fprintf(stderr, "as uid %d: %s (errno %s)\n", getuid(), what.c_str(),
                 strerrordesc_np(errno));
  return ok;
}
// Whether a call failed with `error`.
bool FailsWith(int result, int error) { return result != 0 && errno == error; }

class MountUsersTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
    std::vector<std::string> mount_args = {"-o", "allow_other"};
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs;
    if (GetParam() == Server::kMemfs) {
      fs = MountedMemfs::Start(mount_args, {"--size", "64M", "--root-mode", "0777"});
    } else {
      served_ = host_.path() + "/served";
      ASSERT_EQ(mkdir(served_.c_str(), 0777), 0);
      ASSERT_EQ(chmod(served_.c_str(), 0777), 0);
      fs = MountedMemfs::StartPassthrough(served_, mount_args);
    }
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
    // Let the other users reach the mount point (mkdtemp made its parent 0700).
    const std::string parent = fs_->mountpoint().substr(0, fs_->mountpoint().rfind('/'));
    ASSERT_EQ(chmod(parent.c_str(), 0755), 0);
  }

  // Runs `body` as `who` in a child; how it ended.
  std::string As(const UserIdentity& who, const std::function<bool()>& body) {
    ChildProcess child = ForkAs(who, [&] { return body() ? 0 : 1; });
    return child.WaitFor(absl::Seconds(30));
  }

  std::string Path(const std::string& relative) const { return fs_->Path(relative); }

  ScratchDirectory host_{"users", 0755};
  std::string served_;
  std::unique_ptr<MountedMemfs> fs_;
};

TEST_P(MountUsersTest, WhatAUserMakesBelongsToThatUser) {
  ASSERT_EQ(As(kCreator,
               [&] {
                 const int fd = open(Path("file").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
                 return Expect(fd >= 0, "create") && close(fd) == 0 &&
                        Expect(mkdir(Path("dir").c_str(), 0755) == 0, "mkdir") &&
                        Expect(mkfifo(Path("fifo").c_str(), 0644) == 0, "mkfifo") &&
                        Expect(symlink("file", Path("link").c_str()) == 0, "symlink");
               }),
            ChildProcess::Exited(0))
      << fs_->ServerLog();
  for (const char* name : {"file", "dir", "fifo", "link"}) {
    struct stat st;
    ASSERT_EQ(lstat(Path(name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_uid, kCreator.uid) << name;
    EXPECT_EQ(st.st_gid, kCreator.gid) << name;
    if (!served_.empty()) {  // and on the host, behind the passthrough
      ASSERT_EQ(lstat((served_ + "/" + name).c_str(), &st), 0) << name;
      EXPECT_EQ(st.st_uid, kCreator.uid) << name;
    }
  }
}

TEST_P(MountUsersTest, TheCreatorMayChmodChownToItsGroupsAndTruncate) {
  ASSERT_EQ(As(kCreator,
               [&] {
                 const std::string file = Path("mine");
                 const int fd = open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
                 if (!Expect(fd >= 0, "create") || write(fd, "hello", 5) != 5) return false;
                 close(fd);
                 struct stat st;
                 return Expect(chmod(file.c_str(), 0600) == 0, "chmod") &&
                        Expect(chown(file.c_str(), -1, kProjects) == 0, "chown to its group") &&
                        Expect(FailsWith(chown(file.c_str(), -1, 4545), EPERM),
                               "chown to another group") &&
                        Expect(truncate(file.c_str(), 2) == 0, "truncate") &&
                        Expect(stat(file.c_str(), &st) == 0 && st.st_size == 2 &&
                                   st.st_gid == kProjects && (st.st_mode & 07777) == 0600,
                               "stat after the changes");
               }),
            ChildProcess::Exited(0))
      << fs_->ServerLog();
}

TEST_P(MountUsersTest, AStrangerMayNotChangeAnotherUsersFile) {
  ASSERT_EQ(As(kCreator,
               [&] {
                 const int fd = open(Path("theirs").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
                 return Expect(fd >= 0, "create") && write(fd, "data", 4) == 4 && close(fd) == 0;
               }),
            ChildProcess::Exited(0));
  ASSERT_EQ(As(kStranger,
               [&] {
                 const std::string file = Path("theirs");
                 return Expect(FailsWith(chmod(file.c_str(), 0666), EPERM), "chmod") &&
                        Expect(FailsWith(chown(file.c_str(), -1, kStranger.gid), EPERM), "chown") &&
                        Expect(FailsWith(truncate(file.c_str(), 0), EACCES), "truncate") &&
                        Expect(FailsWith(open(file.c_str(), O_WRONLY), EACCES), "open to write");
               }),
            ChildProcess::Exited(0));
  struct stat st;
  ASSERT_EQ(stat(Path("theirs").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_P(MountUsersTest, AnOwnerMayHardLinkAndMoveItsDirectoryAcrossParents) {
  ASSERT_EQ(As(kCreator,
               [&] {
                 const int fd = open(Path("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
                 return Expect(fd >= 0, "create") && close(fd) == 0 &&
                        Expect(link(Path("f").c_str(), Path("f2").c_str()) == 0, "link") &&
                        Expect(mkdir(Path("a").c_str(), 0755) == 0, "mkdir a") &&
                        Expect(mkdir(Path("b").c_str(), 0755) == 0, "mkdir b") &&
                        Expect(mkdir(Path("a/sub").c_str(), 0755) == 0, "mkdir a/sub") &&
                        Expect(rename(Path("a/sub").c_str(), Path("b/sub").c_str()) == 0,
                               "rename across parents");
               }),
            ChildProcess::Exited(0))
      << fs_->ServerLog();
  // A stranger may not link another user's file it cannot read (protected_hardlinks).
  EXPECT_EQ(As(kStranger,
               [&] {
                 return Expect(FailsWith(link(Path("f").c_str(), Path("g").c_str()), EPERM),
                               "link another's file");
               }),
            ChildProcess::Exited(0));
}

TEST_P(MountUsersTest, ASupplementaryGroupGrantsAccess) {
  const std::string file = Path("group-only");
  const int fd = open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "shared", 6), 6);
  close(fd);
  ASSERT_EQ(chown(file.c_str(), 0, kProjects), 0);
  EXPECT_EQ(As(kCreator,
               [&] {
                 const int fd = open(file.c_str(), O_RDONLY);
                 return Expect(fd >= 0, "open as a member of the file's group") && close(fd) == 0;
               }),
            ChildProcess::Exited(0));
  EXPECT_EQ(As(kStranger,
               [&] {
                 return Expect(FailsWith(open(file.c_str(), O_RDONLY), EACCES), "open as another");
               }),
            ChildProcess::Exited(0));
}

INSTANTIATE_TEST_SUITE_P(Servers, MountUsersTest,
                         ::testing::Values(Server::kMemfs, Server::kPassthrough), ServerName);

}  // namespace
}  // namespace syslink::examples::fs
