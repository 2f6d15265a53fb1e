// System calls through a real mount of a real memfs, one behaviour each: the fs.proto rpc
// behind each call, and the server's errnos reaching the caller unchanged.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

class FsMountSyscallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start();
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }
  std::string P(const std::string& name) const { return fs_->Path(name); }
  void Put(const std::string& name, const std::string& bytes) {
    const int fd = open(P(name).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ASSERT_EQ(close(fd), 0);
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
  // The errno of a call that must fail.
  static int Fails(int result) { return result == -1 ? errno : 0; }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(FsMountSyscallsTest, MkdirOfAnExistingNameIsEexist) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  EXPECT_EQ(Fails(mkdir(P("d").c_str(), 0755)), EEXIST);
}

TEST_F(FsMountSyscallsTest, RmdirOfANonEmptyDirectoryIsEnotempty) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  Put("d/f", "x");
  EXPECT_EQ(Fails(rmdir(P("d").c_str())), ENOTEMPTY);
}

TEST_F(FsMountSyscallsTest, OpenOfAMissingNameIsEnoent) {
  EXPECT_EQ(Fails(open(P("missing").c_str(), O_RDONLY)), ENOENT);
}

TEST_F(FsMountSyscallsTest, CreateExclusiveOfAnExistingNameIsEexist) {
  Put("f", "x");
  EXPECT_EQ(Fails(open(P("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)), EEXIST);
}

TEST_F(FsMountSyscallsTest, HardLinksShareOneInode) {
  Put("a", "shared");
  ASSERT_EQ(link(P("a").c_str(), P("b").c_str()), 0);
  struct stat a, b;
  ASSERT_EQ(stat(P("a").c_str(), &a), 0);
  ASSERT_EQ(stat(P("b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(b.st_nlink, 2u);
  EXPECT_EQ(Get("b"), "shared");
}

TEST_F(FsMountSyscallsTest, SymlinkTargetsReadBack) {
  ASSERT_EQ(symlink("some/where/else", P("l").c_str()), 0);
  char target[64] = {};
  ASSERT_EQ(readlink(P("l").c_str(), target, sizeof(target)), 15);
  EXPECT_STREQ(target, "some/where/else");
  struct stat st;
  ASSERT_EQ(lstat(P("l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(FsMountSyscallsTest, RenameNoreplaceRefusesAnExistingName) {
  Put("a", "1");
  Put("b", "2");
  EXPECT_EQ(Fails(renameat2(AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(), RENAME_NOREPLACE)),
            EEXIST);
  EXPECT_EQ(Get("b"), "2");
}

TEST_F(FsMountSyscallsTest, RenameExchangeSwapsTwoNames) {
  Put("a", "1");
  Put("b", "2");
  ASSERT_EQ(renameat2(AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(), RENAME_EXCHANGE), 0)
      << std::strerror(errno);
  EXPECT_EQ(Get("a"), "2");
  EXPECT_EQ(Get("b"), "1");
}

TEST_F(FsMountSyscallsTest, TruncateChangesTheSize) {
  Put("f", "0123456789");
  ASSERT_EQ(truncate(P("f").c_str(), 4), 0);
  EXPECT_EQ(Get("f"), "0123");
  ASSERT_EQ(truncate(P("f").c_str(), 300000), 0);
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 300000);
}

TEST_F(FsMountSyscallsTest, FtruncateGoesThroughTheHandle) {
  const int fd = open(P("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 5000), 0) << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 5000);
  close(fd);
}

TEST_F(FsMountSyscallsTest, ChmodChangesPermissionBits) {
  Put("f", "x");
  ASSERT_EQ(chmod(P("f").c_str(), 0604), 0);
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
}

TEST_F(FsMountSyscallsTest, UtimensatSetsTheModificationTime) {
  Put("f", "x");
  const timespec times[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(utimensat(AT_FDCWD, P("f").c_str(), times, 0), 0);
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
}

TEST_F(FsMountSyscallsTest, MkfifoMakesAFifo) {
  ASSERT_EQ(mkfifo(P("fifo").c_str(), 0600), 0);
  struct stat st;
  ASSERT_EQ(stat(P("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(FsMountSyscallsTest, AnUnlinkedOpenFileStaysReadable) {
  Put("f", "still here");
  const int fd = open(P("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(P("f").c_str()), 0);
  char buffer[32] = {};
  EXPECT_EQ(pread(fd, buffer, sizeof(buffer), 0), 10);
  EXPECT_STREQ(buffer, "still here");
  close(fd);
}

TEST_F(FsMountSyscallsTest, AppendWritesGoToTheEnd) {
  Put("f", "head");
  const int fd = open(P("f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "-tail", 5), 5);
  close(fd);
  EXPECT_EQ(Get("f"), "head-tail");
}

TEST_F(FsMountSyscallsTest, WritesAndReadsOf128KiBAtAnOffset) {
  std::string block(128 * 1024, '\0');
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 7 + 1);
  const int fd = open(P("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, block.data(), block.size(), 3 * 4096 + 5),
            static_cast<ssize_t>(block.size()));
  std::string back(block.size(), '\0');
  ASSERT_EQ(pread(fd, back.data(), back.size(), 3 * 4096 + 5), static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == block);
  char zeros[16];
  ASSERT_EQ(pread(fd, zeros, sizeof(zeros), 0), 16);
  EXPECT_EQ(std::string(zeros, 16), std::string(16, '\0'));
  close(fd);
}

TEST_F(FsMountSyscallsTest, ReadDirListsAThousandNamesOnce) {
  ASSERT_EQ(mkdir(P("many").c_str(), 0755), 0);
  std::set<std::string> made;
  for (int i = 0; i < 1000; ++i) {
    const std::string name = absl::StrCat("entry-with-a-longish-name-", i);
    Put("many/" + name, "");
    made.insert(name);
  }
  DIR* dir = opendir(P("many").c_str());
  ASSERT_NE(dir, nullptr);
  std::multiset<std::string> seen;
  while (dirent* entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      seen.insert(entry->d_name);
    }
  }
  closedir(dir);
  EXPECT_EQ(seen.size(), made.size());
  EXPECT_TRUE(std::set<std::string>(seen.begin(), seen.end()) == made);
}

TEST_F(FsMountSyscallsTest, DirectoryEntriesCarryTheFilesInodeNumber) {
  Put("f", "x");
  struct stat st;
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  DIR* dir = opendir(fs_->mountpoint().c_str());
  ASSERT_NE(dir, nullptr);
  ino_t listed = 0;
  while (dirent* entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, "f") == 0) listed = entry->d_ino;
  }
  closedir(dir);
  EXPECT_EQ(listed, st.st_ino);
}

TEST_F(FsMountSyscallsTest, StatfsReportsTheServersCapacity) {
  struct statvfs vfs;
  ASSERT_EQ(statvfs(fs_->mountpoint().c_str(), &vfs), 0);
  EXPECT_EQ(uint64_t{vfs.f_blocks} * vfs.f_frsize, uint64_t{64} << 20);  // memfs --size 64M
  EXPECT_EQ(vfs.f_namemax, 255u);
}

TEST_F(FsMountSyscallsTest, WritingPastTheServersCapacityIsEnospc) {
  const int fd = open(P("f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  std::string block(128 * 1024, 'x');
  int error = 0;
  for (int i = 0; i < 1024 && error == 0; ++i) {  // 128 MiB into 64 MiB
    if (write(fd, block.data(), block.size()) < 0) error = errno;
  }
  close(fd);
  EXPECT_EQ(error, ENOSPC);
}

}  // namespace
}  // namespace syslink::examples::fs
