// fs.protected_regular and fs.protected_fifos for the passthrough's direct clients: Create of
// a name that exists, in a sticky directory, as the kernel's O_CREAT open would be checked
// for the caller (protected_creates.h). The server reads the sysctls from a directory of the
// test's, whose files each test writes: the host's own stay as they are.
//
// Built twice: acting as each caller (passthrough_protected_create_test) and checking for
// each caller (passthrough_checked_protected_create_test, PASSTHROUGH_TEST_CHECK_ACCESS).
// Needs root, to give host files to other users; says so when it skips.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "examples/fs/passthrough/passthrough_testing.h"
#include "examples/fs/passthrough/protected_creates.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

#ifdef PASSTHROUGH_TEST_CHECK_ACCESS
constexpr CallerAccess kAccess = CallerAccess::kCheckAsServer;
#else
constexpr CallerAccess kAccess = CallerAccess::kActAsCaller;
#endif

// A new directory under $TEST_TMPDIR for the sysctl files, holding both at 0: the server
// opens them when it starts, and reads what the tests write into them later.
std::string NewSysctlDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/sysctl-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  std::ofstream(dir + "/protected_regular") << "0\n";
  std::ofstream(dir + "/protected_fifos") << "0\n";
  return dir;
}

class ProtectedCreateTest : public PassthroughTest {
 protected:
  ProtectedCreateTest() : ProtectedCreateTest(NewSysctlDir()) {}

  void SetUp() override {
    PassthroughTest::SetUp();
    if (in_process()) GTEST_SKIP() << "an in-process caller is always this process";
    if (geteuid() != 0) GTEST_SKIP() << "needs root, to give host files to other users";
    SetLevels(1, 1);
    // "tmp" as /tmp is: root's, sticky and world-writable; "alices" in it is Alice's.
    ASSERT_EQ(mkdir(HostPath("tmp").c_str(), 01777), 0);
    GiveHostFile("tmp/alices", kAlice, kAlice, 0666);
    tmp_ = Ok(fs().Lookup(kRootIno, "tmp")).ino();
    bob_ = ConnectAs(kBob, kBob, {kStaff});
    ASSERT_NE(bob_, nullptr);
  }
  void TearDown() override {
    bob_.reset();
    PassthroughTest::TearDown();
  }

  void SetLevels(int regular, int fifos) {
    HostWrite(sysctl_dir_ + "/protected_regular", std::to_string(regular) + "\n");
    HostWrite(sysctl_dir_ + "/protected_fifos", std::to_string(fifos) + "\n");
  }
  // Makes the regular file at `relative` (unless it exists) and gives it to `uid`:`gid`.
  void GiveHostFile(const std::string& relative, uid_t uid, gid_t gid, mode_t mode) {
    if (access(HostPath(relative).c_str(), F_OK) != 0) HostWrite(HostPath(relative), "kept");
    ASSERT_EQ(chown(HostPath(relative).c_str(), uid, gid), 0) << std::strerror(errno);
    ASSERT_EQ(chmod(HostPath(relative).c_str(), mode), 0) << std::strerror(errno);
  }
  // Create of `name` in `dir` with `flags` by `client`: "OK" (the handle released) or errno.
  static std::string CreateIn(FsClient& client, uint64_t dir, const std::string& name,
                              uint32_t flags = O_RDWR) {
    absl::StatusOr<FsClient::Created> created = client.Create(dir, name, 0644, flags);
    if (created.ok()) {
      EXPECT_TRUE(client.Release(created->entry.ino(), created->fh).ok());
      EXPECT_TRUE(client.Forget(created->entry.ino()).ok());
    }
    return Errno(created);
  }

  uint64_t tmp_ = 0;
  std::unique_ptr<FsClient> bob_;

 private:
  explicit ProtectedCreateTest(std::string sysctl_dir)
      : PassthroughTest(PassthroughOptions{.access = kAccess, .sysctl_dir = sysctl_dir}),
        sysctl_dir_(std::move(sysctl_dir)) {}

  const std::string sysctl_dir_;
};

TEST_P(ProtectedCreateTest, AnotherUsersFileInAWorldWritableStickyDirectoryIsRefused) {
  const size_t inodes = passthrough().inode_count();
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices"), "EACCES");
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices", O_RDONLY), "EACCES");
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices", O_WRONLY | O_TRUNC), "EACCES");
  EXPECT_EQ(HostRead(HostPath("tmp/alices")), "kept");
  EXPECT_EQ(passthrough().inode_count(), inodes);  // no lookup left behind
}

TEST_P(ProtectedCreateTest, RootIsRefusedToo) {
  std::unique_ptr<FsClient> root = ConnectAs(0, 0);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(CreateIn(*root, tmp_, "alices"), "EACCES");
}

TEST_P(ProtectedCreateTest, ExclusiveCreateIsStillEexist) {
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices", O_RDWR | O_EXCL), "EEXIST");
}

TEST_P(ProtectedCreateTest, TheFilesOwnerMayOpenIt) {
  std::unique_ptr<FsClient> alice = ConnectAs(kAlice, kAlice);
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(CreateIn(*alice, tmp_, "alices"), "OK");
}

TEST_P(ProtectedCreateTest, AFileOfTheDirectorysOwnerIsNotProtected) {
  GiveHostFile("tmp/roots", 0, 0, 0666);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "roots"), "OK");
}

TEST_P(ProtectedCreateTest, ANewFileIsMadeAsBefore) {
  EXPECT_EQ(CreateIn(*bob_, tmp_, "new"), "OK");
  EXPECT_EQ(HostStat("tmp/new").st_uid, acts_as_caller() ? kBob : 0u);
}

TEST_P(ProtectedCreateTest, NothingIsRefusedWithTheSysctlAtZero) {
  SetLevels(0, 0);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices"), "OK");
}

TEST_P(ProtectedCreateTest, ADirectoryThatIsNotStickyIsNotProtected) {
  ASSERT_EQ(chmod(HostPath("tmp").c_str(), 0777), 0);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices"), "OK");
}

TEST_P(ProtectedCreateTest, AGroupWritableStickyDirectoryIsProtectedAtLevelTwoOnly) {
  ASSERT_EQ(chown(HostPath("tmp").c_str(), 0, kStaff), 0);
  ASSERT_EQ(chmod(HostPath("tmp").c_str(), 01770), 0);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices"), "OK");
  SetLevels(2, 0);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "alices"), "EACCES");
}

TEST_P(ProtectedCreateTest, AFifoFollowsProtectedFifos) {
  ASSERT_EQ(mkfifo(HostPath("tmp/fifo").c_str(), 0666), 0);
  ASSERT_EQ(chown(HostPath("tmp/fifo").c_str(), kAlice, kAlice), 0);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "fifo"), "EACCES");
  SetLevels(1, 0);
  EXPECT_EQ(CreateIn(*bob_, tmp_, "fifo"), "ENXIO");  // never opened, as without the sysctl
}

INSTANTIATE_TEST_SUITE_P(Transports, ProtectedCreateTest,
                         ::testing::Values(Transport::kLink, Transport::kLinkWorkers),
                         TransportName);

// The rule alone, against stats made up for it.
class ProtectedCreatesTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(dir_ + "/" + name) << contents;
  }
  static struct stat Stat(mode_t mode, uid_t uid) {
    struct stat st = {};
    st.st_mode = mode;
    st.st_uid = uid;
    return st;
  }

  const std::string dir_ = NewSysctlDir();
  const struct stat tmp_ = Stat(S_IFDIR | 01777, 0);
  const struct stat alices_ = Stat(S_IFREG | 0666, kAlice);
};

TEST_F(ProtectedCreatesTest, FollowsTheKernelsRule) {
  ProtectedCreates rule(dir_);
  Write("protected_regular", "2\n");
  EXPECT_EQ(rule.MayCreate(tmp_, alices_, kBob), EACCES);
  EXPECT_EQ(rule.MayCreate(tmp_, alices_, 0), EACCES);
  EXPECT_EQ(rule.MayCreate(tmp_, alices_, kAlice), 0);
  EXPECT_EQ(rule.MayCreate(Stat(S_IFDIR | 01777, kAlice), alices_, kBob), 0);
  EXPECT_EQ(rule.MayCreate(Stat(S_IFDIR | 0777, 0), alices_, kBob), 0);
  EXPECT_EQ(rule.MayCreate(Stat(S_IFDIR | 01770, 0), alices_, kBob), EACCES);
  EXPECT_EQ(rule.MayCreate(Stat(S_IFDIR | 01755, 0), alices_, kBob), 0);
  EXPECT_EQ(rule.MayCreate(tmp_, Stat(S_IFIFO | 0666, kAlice), kBob), 0);  // fifos at 0
  EXPECT_EQ(rule.MayCreate(tmp_, Stat(S_IFSOCK | 0666, kAlice), kBob), 0);
  Write("protected_regular", "1\n");
  EXPECT_EQ(rule.MayCreate(tmp_, alices_, kBob), EACCES);
  EXPECT_EQ(rule.MayCreate(Stat(S_IFDIR | 01770, 0), alices_, kBob), 0);
}

TEST_F(ProtectedCreatesTest, AMissingOrUnreadableSysctlProtectsNothing) {
  EXPECT_EQ(ProtectedCreates(dir_ + "/missing").MayCreate(tmp_, alices_, kBob), 0);
  ProtectedCreates rule(dir_);
  Write("protected_regular", "garbage");
  EXPECT_EQ(rule.MayCreate(tmp_, alices_, kBob), 0);
}

}  // namespace
}  // namespace syslink::examples::fs
