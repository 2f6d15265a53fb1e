// null_fuse, the no-server FUSE reference of fs_benchmark: its command line, and a real
// mount of it read as the benchmark reads it (through the page cache and O_DIRECT).

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::testing::HasSubstr;

constexpr size_t kChunk = 128 * 1024;

ToolRun NullFuse(std::vector<std::string> args) {
  args.insert(args.begin(), RunfilesPath("examples/fs/bench/null_fuse"));
  return RunTool(args, absl::Seconds(30));
}

TEST(NullFuseCliTest, HelpSaysWhatItServes) {
  ToolRun help = NullFuse({"--help"});
  EXPECT_EQ(help.how, ChildProcess::Exited(0));
  for (const char* text : {"usage: null_fuse", "--size=", "MOUNTPOINT/file", "SIGTERM"}) {
    EXPECT_THAT(help.out, HasSubstr(text));
  }
}

TEST(NullFuseCliTest, UsageErrorsExitTwoAndSayWhy) {
  ToolRun none = NullFuse({});
  EXPECT_EQ(none.how, ChildProcess::Exited(2));
  EXPECT_THAT(none.err, HasSubstr("no mount point"));
  ToolRun size = NullFuse({"--size=lots", "/tmp"});
  EXPECT_EQ(size.how, ChildProcess::Exited(2));
  EXPECT_THAT(size.err, HasSubstr("--size wants a number of bytes"));
  ToolRun huge = NullFuse({"--size=9223372036854775808", "/tmp"});  // 2^63
  EXPECT_EQ(huge.how, ChildProcess::Exited(2));
  EXPECT_THAT(huge.err, HasSubstr("--size wants a number of bytes"));
  ToolRun extra = NullFuse({"/tmp", "/var"});
  EXPECT_EQ(extra.how, ChildProcess::Exited(2));
  EXPECT_THAT(extra.err, HasSubstr("unexpected argument /var"));
}

// null_fuse mounted at a fresh directory, unmounted (SIGTERM, then by force) at the end.
class NullFuseMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    char parent[] = "/tmp/sl-null-fuse-test-XXXXXX";
    ASSERT_NE(mkdtemp(parent), nullptr);
    parent_ = parent;
    mountpoint_ = parent_ + "/mnt";
    ASSERT_EQ(mkdir(mountpoint_.c_str(), 0755), 0);
    absl::StatusOr<ChildProcess> server = StartMountDaemon(
        {RunfilesPath("examples/fs/bench/null_fuse"), absl::StrCat("--size=", kSize), mountpoint_},
        mountpoint_, parent_ + "/null_fuse.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ChildProcess>(*std::move(server));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Kill(SIGTERM);
      EXPECT_EQ(server_->WaitFor(absl::Seconds(20)), ChildProcess::Exited(0));
    }
    if (!mountpoint_.empty()) {
      EXPECT_TRUE(ForceUnmount(mountpoint_));
      rmdir(mountpoint_.c_str());
    }
    if (!parent_.empty()) {
      unlink((parent_ + "/null_fuse.log").c_str());
      rmdir(parent_.c_str());
    }
  }

  // Reads the whole file, 128 KiB at a time after a first odd-sized read, and checks every
  // byte: the one at offset o is (o % 128 KiB) * 131 % 251 + 1.
  void ReadAndCheck(int flags) {
    const std::string path = mountpoint_ + "/file";
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
    ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
    void* memory = nullptr;
    ASSERT_EQ(posix_memalign(&memory, 4096, kChunk), 0);
    std::unique_ptr<void, decltype(&free)> buffer(memory, &free);
    const auto* bytes = static_cast<const unsigned char*>(buffer.get());
    size_t total = 0;
    size_t want = (flags & O_DIRECT) != 0 ? 4096 : 1000;  // then at offsets not 128 KiB apart
    for (ssize_t n; (n = read(fd, buffer.get(), want)) > 0; total += n, want = kChunk) {
      for (ssize_t i = 0; i < n; ++i) {
        const size_t at = total + i;
        ASSERT_EQ(bytes[i], at % kChunk * 131 % 251 + 1) << "at " << at;
      }
    }
    close(fd);
    EXPECT_EQ(total, kSize);
  }

  static constexpr size_t kSize = 3 * kChunk + 4096 + 100;  // ends mid-chunk, mid-page
  std::string parent_;
  std::string mountpoint_;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(NullFuseMountTest, ServesOneReadOnlyFileOfTheGivenSize) {
  struct stat st;
  ASSERT_EQ(stat((mountpoint_ + "/file").c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(static_cast<size_t>(st.st_size), kSize);
  EXPECT_EQ(stat((mountpoint_ + "/other").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open((mountpoint_ + "/file").c_str(), O_WRONLY | O_CLOEXEC), -1);
  EXPECT_EQ(errno, EACCES);
}

TEST_F(NullFuseMountTest, ReadsThroughThePageCacheReturnThePattern) { ReadAndCheck(0); }

TEST_F(NullFuseMountTest, ODirectReadsReturnThePattern) { ReadAndCheck(O_DIRECT); }

}  // namespace
}  // namespace syslink::examples::fs
