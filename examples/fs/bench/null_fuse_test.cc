// null_fuse, the no-server FUSE reference of fs_benchmark: its command line, and a real
// mount of it read as the benchmark reads it (through the page cache and O_DIRECT), and
// its created files made, written, stat'ed and unlinked as the benchmark's do.

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
  for (const char* text : {"usage: null_fuse", "--size=", "--debug", "MOUNTPOINT/file",
                           "O_CREAT|O_WRONLY", "SIGTERM"}) {
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

  std::string Path(const std::string& name) const { return mountpoint_ + "/" + name; }

  // Creates `name` (O_CREAT|O_EXCL|O_WRONLY, mode 0640): its descriptor, or -1 with errno.
  int Create(const std::string& name) const {
    return open(Path(name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  }

  // st_size of `name` by stat(2), or -1 with errno.
  off_t SizeOf(const std::string& name) const {
    struct stat st;
    return stat(Path(name).c_str(), &st) == 0 ? st.st_size : -1;
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

TEST_F(NullFuseMountTest, CreateMakesAnEmptyFileOfTheCallers) {
  const int fd = Create("new");
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(close(fd), 0);
  struct stat st;
  ASSERT_EQ(stat(Path("new").c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  const mode_t umask_now = umask(0);
  umask(umask_now);
  EXPECT_EQ(st.st_mode & 07777, 0640u & ~umask_now);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_uid, getuid());
  EXPECT_NE(st.st_ino, 0u);
}

TEST_F(NullFuseMountTest, WritesAreAcceptedAndTheSizeKept) {
  const int fd = Create("written");
  ASSERT_GE(fd, 0) << strerror(errno);
  std::vector<char> bytes(kChunk + 100, 'x');
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(SizeOf("written"), static_cast<off_t>(bytes.size()));
  EXPECT_EQ(pwrite(fd, bytes.data(), 10, 5 * kChunk), 10);
  EXPECT_EQ(SizeOf("written"), static_cast<off_t>(5 * kChunk + 10));
  EXPECT_EQ(close(fd), 0);
  EXPECT_EQ(SizeOf("written"), static_cast<off_t>(5 * kChunk + 10));
}

TEST_F(NullFuseMountTest, OpenWithTruncEmptiesACreatedFile) {
  const int fd = Create("big");
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "some bytes", 10), 10);
  EXPECT_EQ(close(fd), 0);
  const int again = open(Path("big").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  ASSERT_GE(again, 0) << strerror(errno);
  EXPECT_EQ(SizeOf("big"), 0);
  EXPECT_EQ(close(again), 0);
}

TEST_F(NullFuseMountTest, ASecondExclusiveCreateIsEEXIST) {
  const int fd = Create("twice");
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(close(fd), 0);
  EXPECT_EQ(Create("twice"), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(Create("file"), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(NullFuseMountTest, AnUnlinkedFileIsENOENT) {
  const int fd = Create("gone");
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(close(fd), 0);
  ASSERT_EQ(unlink(Path("gone").c_str()), 0) << strerror(errno);
  EXPECT_EQ(SizeOf("gone"), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open(Path("gone").c_str(), O_WRONLY | O_CLOEXEC), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(unlink(Path("gone").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(NullFuseMountTest, AnUnlinkedNameCanBeCreatedAgain) {
  for (int i = 0; i < 3; ++i) {
    const int fd = Create("again");
    ASSERT_GE(fd, 0) << "round " << i << ": " << strerror(errno);
    EXPECT_EQ(write(fd, "x", 1), 1);
    EXPECT_EQ(close(fd), 0);
    EXPECT_EQ(SizeOf("again"), 1);
    ASSERT_EQ(unlink(Path("again").c_str()), 0) << strerror(errno);
  }
}

TEST_F(NullFuseMountTest, AnOpenFileOutlivesItsName) {
  const int fd = Create("held");
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(unlink(Path("held").c_str()), 0) << strerror(errno);
  EXPECT_EQ(write(fd, "abc", 3), 3);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(close(fd), 0);
}

TEST_F(NullFuseMountTest, ACreatedFileIsWrittenOnly) {
  const int fd = Create("w");
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(close(fd), 0);
  EXPECT_EQ(open(Path("w").c_str(), O_RDONLY | O_CLOEXEC), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(open(Path("r").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(SizeOf("r"), -1);
}

TEST_F(NullFuseMountTest, FileCannotBeUnlinked) {
  EXPECT_EQ(unlink(Path("file").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(SizeOf("file"), static_cast<off_t>(kSize));
}

}  // namespace
}  // namespace syslink::examples::fs
