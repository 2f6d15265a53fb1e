// Extended attributes through a real mount of memfs and of the passthrough: the system
// calls reach the server's SetXattr, GetXattr, ListXattr and RemoveXattr, and its answers
// (values, sizes, ENODATA, EOPNOTSUPP) reach the caller unchanged.

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ScratchDirectory;

class MountXattrTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs =
        MountedMemfs::StartServer(GetParam(), host_.path());
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
    file_ = fs_->Path("f");
    const int fd = open(file_.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    close(fd);
  }

  ScratchDirectory host_{"xattr", 0755};
  std::unique_ptr<MountedMemfs> fs_;
  std::string file_;
};

TEST_P(MountXattrTest, SetGetListAndRemove) {
  ASSERT_EQ(setxattr(file_.c_str(), "user.color", "blue", 4, 0), 0) << std::strerror(errno);
  char value[64];
  EXPECT_EQ(getxattr(file_.c_str(), "user.color", nullptr, 0), 4);
  ASSERT_EQ(getxattr(file_.c_str(), "user.color", value, sizeof(value)), 4);
  EXPECT_EQ(std::string(value, 4), "blue");
  char names[256];
  const ssize_t listed = listxattr(file_.c_str(), names, sizeof(names));
  ASSERT_GT(listed, 0) << std::strerror(errno);
  EXPECT_NE(std::string(names, listed).find(std::string("user.color\0", 11)), std::string::npos);
  ASSERT_EQ(removexattr(file_.c_str(), "user.color"), 0) << std::strerror(errno);
  EXPECT_EQ(getxattr(file_.c_str(), "user.color", value, sizeof(value)), -1);
  EXPECT_EQ(errno, ENODATA);
}

TEST_P(MountXattrTest, FlagsAndErrorsReachTheCaller) {
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "1", 1, XATTR_CREATE), 0);
  EXPECT_EQ(setxattr(file_.c_str(), "user.a", "2", 1, XATTR_CREATE), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(setxattr(file_.c_str(), "user.b", "2", 1, XATTR_REPLACE), -1);
  EXPECT_EQ(errno, ENODATA);
  char small[1];
  ASSERT_EQ(setxattr(file_.c_str(), "user.long", "abcdef", 6, 0), 0);
  EXPECT_EQ(getxattr(file_.c_str(), "user.long", small, sizeof(small)), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(setxattr(file_.c_str(), "os2.name", "x", 1, 0), -1);  // no such namespace
  EXPECT_EQ(errno, EOPNOTSUPP);
}

TEST_P(MountXattrTest, WritesStillWorkOnAFileWithAttributes) {
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "1", 1, 0), 0);
  const int fd = open(file_.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, "data", 4), 4);
  close(fd);
  struct stat st;
  ASSERT_EQ(stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4);
}

// The kernel asks for security.capability before each write, and the bridge answers from
// what the server last said (CapabilityCache): a capability set through the mount must
// still be seen at once, and a write must still drop it.
TEST_P(MountXattrTest, ACapabilitySetAfterWritesIsSeenAndAWriteDropsIt) {
  const auto write_some = [&] {
    const int fd = open(file_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    EXPECT_EQ(write(fd, "data", 4), 4);
    EXPECT_EQ(write(fd, "more", 4), 4);
    close(fd);
  };
  write_some();
  EXPECT_EQ(getxattr(file_.c_str(), "security.capability", nullptr, 0), -1);
  EXPECT_EQ(errno, ENODATA);

  vfs_cap_data capability = {};
  capability.magic_etc = VFS_CAP_REVISION_2;
  capability.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
  ASSERT_EQ(setxattr(file_.c_str(), "security.capability", &capability, XATTR_CAPS_SZ_2, 0), 0)
      << std::strerror(errno);
  EXPECT_EQ(getxattr(file_.c_str(), "security.capability", nullptr, 0), XATTR_CAPS_SZ_2);

  write_some();  // a changed file loses its capability
  EXPECT_EQ(getxattr(file_.c_str(), "security.capability", nullptr, 0), -1);
  EXPECT_EQ(errno, ENODATA);
}

INSTANTIATE_TEST_SUITE_P(Servers, MountXattrTest,
                         ::testing::Values(Server::kMemfs, Server::kPassthrough), ServerName);

}  // namespace
}  // namespace syslink::examples::fs
