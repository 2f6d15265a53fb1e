// fallocate(2) and copy_file_range(2) through a real mount, on memfs and on the
// passthrough: each becomes one rpc that the server does itself (the copied bytes never
// pass through fs_mount), and what reads back afterwards is what the call promised.

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + 7) % 251);
  return bytes;
}

class MountSpaceTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs =
        MountedMemfs::StartServer(GetParam(), host_.path());
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }
  std::string P(const std::string& name) const { return fs_->Path(name); }
  // A file of the mount holding `bytes`, open read-write.
  int Put(const std::string& name, const std::string& bytes) {
    const int fd = open(P(name).c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    EXPECT_EQ(pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    return fd;
  }
  std::string Get(const std::string& name) {
    const int fd = open(P(name).c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    std::string bytes;
    char buffer[65536];
    for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) bytes.append(buffer, n);
    close(fd);
    return bytes;
  }
  struct stat Stat(const std::string& name) {
    struct stat st {};
    EXPECT_EQ(stat(P(name).c_str(), &st), 0) << std::strerror(errno);
    return st;
  }

  ScratchDirectory host_{"space", 0755};
  std::unique_ptr<MountedMemfs> fs_;
};

TEST_P(MountSpaceTest, FallocateGrowsAFileWithZeros) {
  const int fd = Put("f", "abc");
  ASSERT_EQ(fallocate(fd, 0, 0, 200000), 0) << std::strerror(errno);
  close(fd);
  EXPECT_EQ(Stat("f").st_size, 200000);
  EXPECT_EQ(Get("f"), "abc" + std::string(200000 - 3, '\0'));
}

TEST_P(MountSpaceTest, FallocateKeepSizeAllocatesWithoutGrowing) {
  const int fd = Put("f", "abc");
  ASSERT_EQ(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0) << std::strerror(errno);
  close(fd);
  const struct stat st = Stat("f");
  EXPECT_EQ(st.st_size, 3);
  EXPECT_GE(st.st_blocks * 512, 1 << 20);
}

TEST_P(MountSpaceTest, PunchingAHoleReadsAsZeros) {
  const std::string bytes = Pattern(300000);
  const int fd = Put("f", bytes);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5000, 200000), 0)
      << std::strerror(errno);
  close(fd);
  std::string want = bytes;
  want.replace(5000, 200000, std::string(200000, '\0'));
  EXPECT_TRUE(Get("f") == want);
  EXPECT_EQ(Stat("f").st_size, 300000);
}

TEST_P(MountSpaceTest, CopyFileRangeCopiesInTheServer) {
  const std::string bytes = Pattern(1 << 20);
  const int in = Put("in", bytes);
  const int out = open(P("out").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(out, 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = copy_file_range(in, nullptr, out, nullptr, bytes.size() - done, 0);
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<size_t>(n);
  }
  close(in);
  close(out);
  EXPECT_TRUE(Get("out") == bytes);
}

INSTANTIATE_TEST_SUITE_P(Servers, MountSpaceTest,
                         ::testing::Values(Server::kMemfs, Server::kPassthrough), ServerName);

}  // namespace
}  // namespace syslink::examples::fs
