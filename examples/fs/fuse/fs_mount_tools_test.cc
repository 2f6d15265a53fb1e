// Real tools through a real mount: memfs, fs_mount and a syslinkd of the test's own, each
// its own process; cp, ls, mv, rm, dd, diff and tar run with posix_spawn.

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::testing::HasSubstr;

class FsMountToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start();
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }
  std::string Local(const std::string& name) const { return fs_->scratch() + "/" + name; }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(FsMountToolsTest, CpCopiesAFileInAndOutByteForByte) {
  WriteRandomFile(Local("original"), 3 * 128 * 1024 + 12345, 1);
  RunToolOk({"cp", Local("original"), fs_->Path("copy")});
  RunToolOk({"cp", fs_->Path("copy"), Local("back")});
  RunToolOk({"cmp", Local("original"), Local("back")});
  RunToolOk({"cmp", Local("original"), fs_->Path("copy")});
}

TEST_F(FsMountToolsTest, LsLongShowsSizesModesAndSymlinks) {
  RunToolOk({"mkdir", fs_->Path("d")});
  WriteRandomFile(Local("f"), 4242, 2);
  RunToolOk({"cp", Local("f"), fs_->Path("d/file")});
  RunToolOk({"chmod", "640", fs_->Path("d/file")});
  RunToolOk({"ln", "-s", "file", fs_->Path("d/link")});
  ToolRun ls = RunToolOk({"ls", "-l", fs_->Path("d")});
  EXPECT_THAT(ls.out, HasSubstr("-rw-r----- 1 "));
  EXPECT_THAT(ls.out, HasSubstr(" 4242 "));
  EXPECT_THAT(ls.out, HasSubstr("link -> file"));
}

TEST_F(FsMountToolsTest, MvRenamesWithinAndAcrossDirectories) {
  RunToolOk({"mkdir", fs_->Path("a"), fs_->Path("b")});
  WriteRandomFile(Local("f"), 1000, 3);
  RunToolOk({"cp", Local("f"), fs_->Path("a/one")});
  RunToolOk({"mv", fs_->Path("a/one"), fs_->Path("a/two")});
  RunToolOk({"mv", fs_->Path("a/two"), fs_->Path("b/")});
  RunToolOk({"mv", fs_->Path("b"), fs_->Path("c")});
  RunToolOk({"cmp", Local("f"), fs_->Path("c/two")});
  struct stat st;
  EXPECT_NE(lstat(fs_->Path("a/one").c_str(), &st), 0);
  EXPECT_NE(lstat(fs_->Path("b").c_str(), &st), 0);
}

TEST_F(FsMountToolsTest, RmRecursiveRemovesATree) {
  RunToolOk({"mkdir", "-p", fs_->Path("t/x/y/z"), fs_->Path("t/w")});
  for (const char* name : {"t/f", "t/x/f", "t/x/y/f", "t/x/y/z/f", "t/w/f"}) {
    RunToolOk({"cp", "/proc/self/status", fs_->Path(name)});
  }
  RunToolOk({"rm", "-r", fs_->Path("t")});
  ToolRun ls = RunToolOk({"ls", "-A", fs_->mountpoint()});
  EXPECT_EQ(ls.out, "");
}

TEST_F(FsMountToolsTest, DdWritesAndReadsBack128KiBBlocks) {
  WriteRandomFile(Local("blocks"), 64 * 128 * 1024, 4);
  RunToolOk({"dd", "if=" + Local("blocks"), "of=" + fs_->Path("blocks"), "bs=128K", "status=none"});
  RunToolOk({"dd", "if=" + fs_->Path("blocks"), "of=" + Local("back"), "bs=128K", "status=none"});
  RunToolOk({"cmp", Local("blocks"), Local("back")});
  RunToolOk({"dd", "if=" + fs_->Path("blocks"), "of=" + Local("direct"), "bs=128K", "iflag=direct",
             "status=none"});
  RunToolOk({"cmp", Local("blocks"), Local("direct")});
}

TEST_F(FsMountToolsTest, TarExtractsASourceTreeThatDiffFindsIdentical) {
  // A directory of this repository (this test's sources), plus what sources lack: nesting,
  // a file of many blocks, an empty file, a symlink and a hard link.
  const std::string tree = Local("tree");
  RunToolOk({"cp", "-rL", RunfilesPath("examples/fs/fuse"), tree});
  RunToolOk({"mkdir", "-p", tree + "/deep/er/still"});
  WriteRandomFile(tree + "/deep/er/still/big", 5 * 128 * 1024 + 7, 5);
  RunToolOk({"touch", tree + "/deep/empty"});
  RunToolOk({"ln", "-s", "../fs_mount_main.cc", tree + "/deep/link"});
  RunToolOk({"ln", tree + "/deep/er/still/big", tree + "/deep/hard"});
  RunToolOk({"tar", "-cf", Local("tree.tar"), "-C", tree, "."});
  RunToolOk({"mkdir", fs_->Path("x")});
  RunToolOk({"tar", "-xf", Local("tree.tar"), "-C", fs_->Path("x")});
  ToolRun diff = RunTool({"diff", "-r", "--no-dereference", tree, fs_->Path("x")});
  EXPECT_EQ(diff.how, ChildProcess::Exited(0)) << diff.out << diff.err;
  struct stat big, hard;
  ASSERT_EQ(stat(fs_->Path("x/deep/er/still/big").c_str(), &big), 0);
  ASSERT_EQ(stat(fs_->Path("x/deep/hard").c_str(), &hard), 0);
  EXPECT_EQ(big.st_ino, hard.st_ino);
  EXPECT_EQ(big.st_nlink, 2u);
}

TEST_F(FsMountToolsTest, ParallelCopiesAllArriveIntact) {
  WriteRandomFile(Local("src"), 2 * 1024 * 1024 + 3, 6);
  const std::string s = Local("src");
  ToolRun run = RunShell(
      absl::StrCat("for i in 1 2 3 4 5 6; do cp ", s, " ", fs_->mountpoint(), "/p$i & done; wait"));
  EXPECT_EQ(run.how, ChildProcess::Exited(0)) << run.err;
  for (int i = 1; i <= 6; ++i) RunToolOk({"cmp", s, fs_->Path(absl::StrCat("p", i))});
}

// The multi-threaded loop, a link per worker: tools in parallel.
TEST(FsMountThreadsTest, ParallelToolsOnFourWorkersAllSucceed) {
  if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
  absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start({"--threads=4"});
  ASSERT_TRUE(fs.ok()) << fs.status();
  const std::string src = (*fs)->scratch() + "/src";
  WriteRandomFile(src, 1024 * 1024 + 5, 7);
  const std::string m = (*fs)->mountpoint();
  ToolRun run = RunShell(absl::StrCat("for i in 1 2 3 4 5 6 7 8; do (mkdir ", m, "/d$i && cp ", src,
                                      " ", m, "/d$i/f && ls -l ", m, "/d$i >/dev/null && cmp ", src,
                                      " ", m, "/d$i/f && mv ", m, "/d$i ", m, "/e$i && rm -r ", m,
                                      "/e$i) & done; wait; ls -A ", m));
  EXPECT_EQ(run.how, ChildProcess::Exited(0)) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.out, "");
}

// An unlinked file's space comes back when it is closed, even when one libfuse worker
// forgets the file (the kernel sends FORGET once RELEASE is answered) while another is
// still giving its handle back to memfs.
TEST(FsMountThreadsTest, ClosedUnlinkedFilesGiveTheirSpaceBackOnFourWorkers) {
  if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
  absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start({"--threads=4"});
  ASSERT_TRUE(fs.ok()) << fs.status();
  auto free_blocks = [&] {
    struct statvfs st {};
    EXPECT_EQ(statvfs((*fs)->mountpoint().c_str(), &st), 0) << std::strerror(errno);
    return st.f_bfree;
  };
  const auto before = free_blocks();
  const std::string path = (*fs)->Path("scratch");
  const std::string bytes(64 * 1024, 'x');
  for (int i = 0; i < 300; ++i) {
    const int fd = open(path.c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(unlink(path.c_str()), 0) << std::strerror(errno);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ASSERT_EQ(close(fd), 0);
  }
  // RELEASE goes to fs_mount after close() returns: wait for memfs to have every handle.
  EXPECT_TRUE(syslink::testing::Eventually([&] { return free_blocks() == before; },
                                           syslink::testing::kPatience, absl::Milliseconds(10)))
      << "free blocks " << before << " before, " << free_blocks() << " after";
}

}  // namespace
}  // namespace syslink::examples::fs
