// FsClient's path layer on every transport, and what a caller sees when the server goes.

#include "examples/fs/fs_client.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/memfs_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/status.h"

namespace syslink::examples::fs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST_P(MemFsTest, StatWalksEveryComponent) {
  Entry a = MakeDir(kRootIno, "a");
  Entry b = MakeDir(a.ino(), "b");
  Entry f = MakeFile(b.ino(), "f", "12345");
  Attr attr = Ok(fs().Stat("/a/b/f"));
  EXPECT_EQ(attr.ino(), f.ino());
  EXPECT_EQ(attr.size(), 5u);
}

TEST_P(MemFsTest, StatOfTheRoot) {
  EXPECT_EQ(Ok(fs().Stat("/")).ino(), kRootIno);
  EXPECT_EQ(Ok(fs().Stat("")).ino(), kRootIno);
}

TEST_P(MemFsTest, EmptyComponentsAreSkippedAndRelativePathsStartAtTheRoot) {
  Entry a = MakeDir(kRootIno, "a");
  Entry f = MakeFile(a.ino(), "f");
  EXPECT_EQ(Ok(fs().Stat("//a///f/")).ino(), f.ino());
  EXPECT_EQ(Ok(fs().Stat("a/f")).ino(), f.ino());
  EXPECT_EQ(Ok(fs().Stat("/a/./f")).ino(), f.ino());
  EXPECT_EQ(Ok(fs().Stat("/a/../a/f")).ino(), f.ino());
}

TEST_P(MemFsTest, StatOfAMissingPathIsEnoentNamingThePath) {
  MakeDir(kRootIno, "a");
  absl::Status status = fs().Stat("/a/nothing").status();
  EXPECT_EQ(Errno(status), "ENOENT");
  EXPECT_EQ(std::string(status.message()), "stat /a/nothing: No such file or directory (ENOENT)");
}

TEST_P(MemFsTest, PathThroughAFileIsEnotdir) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Stat("/f/x")), "ENOTDIR");
}

TEST_P(MemFsTest, SymlinksAreNotFollowed) {
  MakeDir(kRootIno, "d");
  ASSERT_TRUE(fs().Symlink(kRootIno, "l", "d").ok());
  EXPECT_TRUE(S_ISLNK(Ok(fs().Stat("/l")).mode()));
  EXPECT_EQ(Errno(fs().Stat("/l/x")), "ENOTDIR");
}

TEST_P(MemFsTest, PathOperationsForgetEveryLookupTheyMake) {
  Entry a = MakeDir(kRootIno, "a");
  Entry f = MakeFile(a.ino(), "f", "x");
  ASSERT_TRUE(fs().Forget(a.ino(), 1).ok());  // the harness's own lookups
  ASSERT_TRUE(fs().Forget(f.ino(), 1).ok());
  ASSERT_TRUE(fs().Stat("/a/f").ok());
  ASSERT_TRUE(fs().ReadFileToString("/a/f").ok());
  ASSERT_TRUE(fs().List("/a").ok());
  ASSERT_TRUE(fs().WriteFileFromString("/a/f", "y").ok());
  const size_t before = tree().inode_count();
  ASSERT_TRUE(fs().Remove("/a/f").ok());
  EXPECT_EQ(tree().inode_count(), before - 1) << "a lookup of /a/f is still held";
  EXPECT_EQ(tree().handle_count(), 0u);
}

TEST_P(MemFsTest, ListLeavesOutDotAndDotDot) {
  Entry d = MakeDir(kRootIno, "d");
  MakeFile(d.ino(), "x");
  MakeDir(d.ino(), "y");
  std::vector<DirEntry> entries = Ok(fs().List("/d"));
  ASSERT_THAT(entries, SizeIs(2));
  EXPECT_EQ(entries[0].name, "x");
  EXPECT_EQ(entries[1].name, "y");
  EXPECT_EQ(entries[1].type, static_cast<uint32_t>(S_IFDIR >> 12));
}

TEST_P(MemFsTest, ListOfAThousandEntries) {
  Entry d = MakeDir(kRootIno, "d");
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(fs().Mknod(d.ino(), absl::StrCat(std::string(200, 'n'), i), 0644).ok());
  }
  EXPECT_THAT(Ok(fs().List("/d")), SizeIs(1000));  // over 200 KiB of entries
}

TEST_P(MemFsTest, ListOfAFileIsEnotdir) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().List("/f")), "ENOTDIR");
}

TEST_P(MemFsTest, MakeDirectoryMakesTheLastComponent) {
  MakeDir(kRootIno, "a");
  ASSERT_EQ(Errno(fs().MakeDirectory("/a/b", 0700)), "OK");
  EXPECT_EQ(Ok(fs().Stat("/a/b")).mode(), S_IFDIR | 0700u);
}

TEST_P(MemFsTest, MakeDirectoryErrors) {
  MakeDir(kRootIno, "a");
  EXPECT_EQ(Errno(fs().MakeDirectory("/a")), "EEXIST");
  EXPECT_EQ(Errno(fs().MakeDirectory("/x/y")), "ENOENT");  // no mkdir -p
  EXPECT_EQ(Errno(fs().MakeDirectory("/")), "EINVAL");
  EXPECT_EQ(Errno(fs().MakeDirectory("/" + std::string(256, 'a'))), "ENAMETOOLONG");
}

TEST_P(MemFsTest, RemoveTakesFilesSymlinksAndEmptyDirectories) {
  MakeFile(kRootIno, "f");
  MakeDir(kRootIno, "d");
  ASSERT_TRUE(fs().Symlink(kRootIno, "l", "f").ok());
  EXPECT_EQ(Errno(fs().Remove("/f")), "OK");
  EXPECT_EQ(Errno(fs().Remove("/d")), "OK");
  EXPECT_EQ(Errno(fs().Remove("/l")), "OK");
  EXPECT_TRUE(Ok(fs().List("/")).empty());
}

TEST_P(MemFsTest, RemoveErrors) {
  Entry d = MakeDir(kRootIno, "d");
  MakeFile(d.ino(), "f");
  EXPECT_EQ(Errno(fs().Remove("/d")), "ENOTEMPTY");
  EXPECT_EQ(Errno(fs().Remove("/nothing")), "ENOENT");
  EXPECT_EQ(Errno(fs().Remove("/")), "EINVAL");
}

TEST_P(MemFsTest, MoveRenamesAcrossDirectories) {
  MakeDir(kRootIno, "a");
  Entry b = MakeDir(kRootIno, "b");
  ASSERT_TRUE(fs().WriteFileFromString("/a/f", "moving").ok());
  ASSERT_EQ(Errno(fs().Move("/a/f", "/b/g")), "OK");
  EXPECT_EQ(Ok(fs().ReadFileToString("/b/g")), "moving");
  EXPECT_EQ(Errno(fs().Stat("/a/f")), "ENOENT");
}

TEST_P(MemFsTest, MoveErrors) {
  ASSERT_TRUE(fs().WriteFileFromString("/f", "1").ok());
  ASSERT_TRUE(fs().WriteFileFromString("/g", "2").ok());
  EXPECT_EQ(Errno(fs().Move("/f", "/g", RENAME_FLAG_NOREPLACE)), "EEXIST");
  EXPECT_EQ(Errno(fs().Move("/f", "/missing/g")), "ENOENT");
  EXPECT_EQ(Errno(fs().Move("/nothing", "/h")), "ENOENT");
  EXPECT_EQ(Errno(fs().Move("/f", "/g", RENAME_FLAG_EXCHANGE)), "OK");
  EXPECT_EQ(Ok(fs().ReadFileToString("/f")), "2");
}

TEST_P(MemFsTest, WriteFileThenReadFileOfSeveralAttachments) {
  const std::string bytes = Pattern(7 * kMaxIoSize + 999, 5);
  ASSERT_EQ(Errno(fs().WriteFileFromString("/big", bytes, 0600)), "OK");
  Attr attr = Ok(fs().Stat("/big"));
  EXPECT_EQ(attr.size(), bytes.size());
  EXPECT_EQ(attr.mode(), S_IFREG | 0600u);
  int pieces = 0;
  std::string back;
  ASSERT_TRUE(fs().ReadFile("/big",
                            [&](std::span<const std::byte> piece) {
                              EXPECT_LE(piece.size(), kMaxIoSize);
                              back.append(reinterpret_cast<const char*>(piece.data()),
                                          piece.size());
                              ++pieces;
                              return absl::OkStatus();
                            })
                  .ok());
  EXPECT_EQ(pieces, 8);
  EXPECT_TRUE(back == bytes);
  EXPECT_EQ(tree().handle_count(), 0u);
}

TEST_P(MemFsTest, WriteFileReplacesWhatWasThere) {
  ASSERT_TRUE(fs().WriteFileFromString("/f", std::string(10000, 'a')).ok());
  ASSERT_TRUE(fs().WriteFileFromString("/f", "short").ok());
  EXPECT_EQ(Ok(fs().ReadFileToString("/f")), "short");
}

TEST_P(MemFsTest, WriteFileOfNothingMakesAnEmptyFile) {
  ASSERT_TRUE(fs().WriteFileFromString("/empty", "").ok());
  EXPECT_EQ(Ok(fs().Stat("/empty")).size(), 0u);
  EXPECT_EQ(Ok(fs().ReadFileToString("/empty")), "");
}

TEST_P(MemFsTest, ReadFileStopsAtTheSinksErrorAndReleasesItsHandle) {
  ASSERT_TRUE(fs().WriteFileFromString("/f", Pattern(3 * kMaxIoSize)).ok());
  int calls = 0;
  absl::Status status = fs().ReadFile("/f", [&](std::span<const std::byte>) {
    ++calls;
    return absl::DataLossError("disk full");
  });
  EXPECT_EQ(status, absl::DataLossError("disk full"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(tree().handle_count(), 0u);
}

TEST_P(MemFsTest, WriteFileStopsAtTheSourcesErrorAndReleasesItsHandle) {
  absl::Status status =
      fs().WriteFile("/f", 0644, [](std::span<std::byte>) -> absl::StatusOr<size_t> {
        return absl::DataLossError("unreadable");
      });
  EXPECT_EQ(status, absl::DataLossError("unreadable"));
  EXPECT_EQ(tree().handle_count(), 0u);
}

TEST_P(MemFsTest, ReadFileOfADirectoryIsEisdir) {
  MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().ReadFileToString("/d")), "EISDIR");
}

TEST_P(MemFsTest, WriteFileOverADirectoryIsEisdir) {
  MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().WriteFileFromString("/d", "x")), "EISDIR");
}

TEST_P(MemFsTest, CallsAfterTheServerIsGoneFailWithEnotconn) {
  if (in_process()) GTEST_SKIP() << "an in-process server cannot go away";
  ASSERT_TRUE(fs().WriteFileFromString("/f", "x").ok());
  server_->Shutdown();  // closes every link: the client sees its peer gone
  absl::Status status = fs().Stat("/f").status();
  EXPECT_TRUE(IsPeerDied(status)) << status;
  EXPECT_EQ(Errno(status), "ENOTCONN");
  EXPECT_EQ(Errno(fs().ReadFileToString("/f")), "ENOTCONN");
}

INSTANTIATE_TEST_SUITE_P(Transports, MemFsTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
