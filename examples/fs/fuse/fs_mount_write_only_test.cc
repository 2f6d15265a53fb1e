// A file opened write-only through the mount is written with direct I/O: write(2) hands the
// writer's bytes to fs_mount without filling the kernel's page cache (examples/fs/README.md).
// What must hold: the bytes reach the server, nothing of the file is left cached, a file
// opened for reading and writing is still cached as before, and a reader that cached the
// file sees a later write-only write on its next read.

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr size_t kBytes = 1 << 20;

class MountWriteOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start({}, {"--size", "64M"});
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }

  // Writes kBytes of a pattern starting at `seed` through a descriptor opened with `flags`.
  static void WriteFile(const std::string& path, int flags, int seed) {
    const int fd = open(path.c_str(), flags | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    std::string bytes = Pattern(seed);
    for (size_t done = 0; done < bytes.size(); done += 128 * 1024) {
      ASSERT_EQ(write(fd, bytes.data() + done, 128 * 1024), 128 * 1024) << std::strerror(errno);
    }
    ASSERT_EQ(close(fd), 0);
  }
  static std::string Pattern(int seed) {
    std::string bytes(kBytes, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i + seed) % 251);
    return bytes;
  }
  // How many of the file's pages the kernel's page cache holds (mincore(2) of a mapping,
  // which faults nothing in).
  static size_t CachedPages(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    void* map = mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    EXPECT_NE(map, MAP_FAILED) << std::strerror(errno);
    if (map == MAP_FAILED) return 0;
    const size_t pages = kBytes / static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> resident(pages);
    EXPECT_EQ(mincore(map, kBytes, resident.data()), 0) << std::strerror(errno);
    munmap(map, kBytes);
    size_t cached = 0;
    for (unsigned char page : resident) cached += page & 1;
    return cached;
  }
  static std::string ReadAt(int fd) {
    std::string bytes(kBytes, '\0');
    EXPECT_EQ(pread(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    return bytes;
  }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(MountWriteOnlyTest, AWriteOnlyFileReachesTheServerWithoutFillingThePageCache) {
  const std::string path = fs_->Path("direct");
  WriteFile(path, O_WRONLY, 1);
  EXPECT_EQ(CachedPages(path), 0u);
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(ReadAt(fd) == Pattern(1));  // from the server
  close(fd);
}

TEST_F(MountWriteOnlyTest, AReadWriteFileIsStillCached) {
  const std::string path = fs_->Path("cached");
  WriteFile(path, O_RDWR, 2);
  EXPECT_EQ(CachedPages(path), kBytes / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
}

TEST_F(MountWriteOnlyTest, AReaderThatCachedTheFileSeesALaterWriteOnlyWrite) {
  const std::string path = fs_->Path("shared");
  WriteFile(path, O_RDWR, 3);
  const int reader = open(path.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(ReadAt(reader) == Pattern(3));
  ASSERT_GT(CachedPages(path), 0u);
  const int writer = open(path.c_str(), O_WRONLY);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(pwrite(writer, "fresh", 5, 4096), 5);
  ASSERT_EQ(close(writer), 0);
  std::string expected = Pattern(3);
  expected.replace(4096, 5, "fresh");
  EXPECT_TRUE(ReadAt(reader) == expected);
  close(reader);
}

}  // namespace
}  // namespace syslink::examples::fs
