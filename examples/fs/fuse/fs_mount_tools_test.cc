// Real tools through a real mount: memfs, fs_mount and a syslinkd of the test's own, each
// its own process; cp, ls, mv, rm, dd, diff and tar run with posix_spawn.

#include <sys/stat.h>

#include <fstream>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::testing::HasSubstr;

void WriteRandomFile(const std::string& path, size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  std::ofstream(path, std::ios::binary) << bytes;
}

class FsMountToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start();
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }
  std::string Local(const std::string& name) const { return fs_->scratch() + "/" + name; }
  // Runs a tool and expects it to succeed.
  ToolRun Ok(const std::vector<std::string>& argv) {
    ToolRun run = RunTool(argv);
    EXPECT_EQ(run.how, ChildProcess::Exited(0)) << argv[0] << ": " << run.err;
    return run;
  }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(FsMountToolsTest, CpCopiesAFileInAndOutByteForByte) {
  WriteRandomFile(Local("original"), 3 * 128 * 1024 + 12345, 1);
  Ok({"cp", Local("original"), fs_->Path("copy")});
  Ok({"cp", fs_->Path("copy"), Local("back")});
  Ok({"cmp", Local("original"), Local("back")});
  Ok({"cmp", Local("original"), fs_->Path("copy")});
}

TEST_F(FsMountToolsTest, LsLongShowsSizesModesAndSymlinks) {
  Ok({"mkdir", fs_->Path("d")});
  WriteRandomFile(Local("f"), 4242, 2);
  Ok({"cp", Local("f"), fs_->Path("d/file")});
  Ok({"chmod", "640", fs_->Path("d/file")});
  Ok({"ln", "-s", "file", fs_->Path("d/link")});
  ToolRun ls = Ok({"ls", "-l", fs_->Path("d")});
  EXPECT_THAT(ls.out, HasSubstr("-rw-r----- 1 "));
  EXPECT_THAT(ls.out, HasSubstr(" 4242 "));
  EXPECT_THAT(ls.out, HasSubstr("link -> file"));
}

TEST_F(FsMountToolsTest, MvRenamesWithinAndAcrossDirectories) {
  Ok({"mkdir", fs_->Path("a"), fs_->Path("b")});
  WriteRandomFile(Local("f"), 1000, 3);
  Ok({"cp", Local("f"), fs_->Path("a/one")});
  Ok({"mv", fs_->Path("a/one"), fs_->Path("a/two")});
  Ok({"mv", fs_->Path("a/two"), fs_->Path("b/")});
  Ok({"mv", fs_->Path("b"), fs_->Path("c")});
  Ok({"cmp", Local("f"), fs_->Path("c/two")});
  struct stat st;
  EXPECT_NE(lstat(fs_->Path("a/one").c_str(), &st), 0);
  EXPECT_NE(lstat(fs_->Path("b").c_str(), &st), 0);
}

TEST_F(FsMountToolsTest, RmRecursiveRemovesATree) {
  Ok({"mkdir", "-p", fs_->Path("t/x/y/z"), fs_->Path("t/w")});
  for (const char* name : {"t/f", "t/x/f", "t/x/y/f", "t/x/y/z/f", "t/w/f"}) {
    Ok({"cp", "/proc/self/status", fs_->Path(name)});
  }
  Ok({"rm", "-r", fs_->Path("t")});
  ToolRun ls = Ok({"ls", "-A", fs_->mountpoint()});
  EXPECT_EQ(ls.out, "");
}

TEST_F(FsMountToolsTest, DdWritesAndReadsBack128KiBBlocks) {
  WriteRandomFile(Local("blocks"), 64 * 128 * 1024, 4);
  Ok({"dd", "if=" + Local("blocks"), "of=" + fs_->Path("blocks"), "bs=128K", "status=none"});
  Ok({"dd", "if=" + fs_->Path("blocks"), "of=" + Local("back"), "bs=128K", "status=none"});
  Ok({"cmp", Local("blocks"), Local("back")});
  Ok({"dd", "if=" + fs_->Path("blocks"), "of=" + Local("direct"), "bs=128K", "iflag=direct",
      "status=none"});
  Ok({"cmp", Local("blocks"), Local("direct")});
}

TEST_F(FsMountToolsTest, TarExtractsASourceTreeThatDiffFindsIdentical) {
  // A directory of this repository (this test's sources), plus what sources lack: nesting,
  // a file of many blocks, an empty file, a symlink and a hard link.
  const std::string tree = Local("tree");
  Ok({"cp", "-rL", RunfilesPath("examples/fs/fuse"), tree});
  Ok({"mkdir", "-p", tree + "/deep/er/still"});
  WriteRandomFile(tree + "/deep/er/still/big", 5 * 128 * 1024 + 7, 5);
  Ok({"touch", tree + "/deep/empty"});
  Ok({"ln", "-s", "../fs_mount_main.cc", tree + "/deep/link"});
  Ok({"ln", tree + "/deep/er/still/big", tree + "/deep/hard"});
  Ok({"tar", "-cf", Local("tree.tar"), "-C", tree, "."});
  Ok({"mkdir", fs_->Path("x")});
  Ok({"tar", "-xf", Local("tree.tar"), "-C", fs_->Path("x")});
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
  for (int i = 1; i <= 6; ++i) Ok({"cmp", s, fs_->Path(absl::StrCat("p", i))});
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

}  // namespace
}  // namespace syslink::examples::fs
