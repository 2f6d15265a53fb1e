// The `fs` CLI's commands against a MemFs in process: what each prints, its exit code, and
// its messages when something fails.

#include "examples/fs/fs_commands.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "examples/fs/memfs_service.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/in_process_channel.h"

namespace syslink::examples::fs {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string LocalPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string ReadLocal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteLocal(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class FsCommandsTest : public ::testing::Test {
 protected:
  struct Run {
    int code;
    std::string out;
    std::string err;
  };

  FsCommandsTest()
      : memfs_(MemTreeOptions{.root_uid = getuid(), .root_gid = getgid()}),
        fs_(std::make_shared<rpc::InProcessChannel>(&memfs_)) {}

  Run Command(const std::vector<std::string>& args) {
    char* out_bytes = nullptr;
    char* err_bytes = nullptr;
    size_t out_size = 0, err_size = 0;
    std::FILE* out = open_memstream(&out_bytes, &out_size);
    std::FILE* err = open_memstream(&err_bytes, &err_size);
    Run run;
    run.code = RunFsCommand(fs_, args, out, err);
    std::fclose(out);
    std::fclose(err);
    run.out.assign(out_bytes, out_size);
    run.err.assign(err_bytes, err_size);
    std::free(out_bytes);
    std::free(err_bytes);
    return run;
  }

  MemFs memfs_;
  FsClient fs_;
};

TEST_F(FsCommandsTest, LsListsNamesWithASlashForDirectories) {
  ASSERT_TRUE(fs_.MakeDirectory("/d").ok());
  ASSERT_TRUE(fs_.WriteFileFromString("/f", "x").ok());
  Run run = Command({"ls"});
  EXPECT_EQ(run.code, 0);
  EXPECT_EQ(run.out, "d/\nf\n");
}

TEST_F(FsCommandsTest, LsLongShowsModeLinksOwnerSizeAndSymlinkTargets) {
  ASSERT_TRUE(fs_.WriteFileFromString("/f", "12345", 0640).ok());
  ASSERT_TRUE(fs_.Symlink(kRootIno, "l", "f").ok());
  Run run = Command({"ls", "-l", "/"});
  EXPECT_EQ(run.code, 0);
  EXPECT_THAT(run.out, HasSubstr("-rw-r-----   1"));
  EXPECT_THAT(run.out, HasSubstr("         5 "));
  EXPECT_THAT(run.out, HasSubstr(" l -> f\n"));
}

TEST_F(FsCommandsTest, LsOfAFileShowsTheFile) {
  ASSERT_TRUE(fs_.WriteFileFromString("/f", "x").ok());
  EXPECT_EQ(Command({"ls", "/f"}).out, "/f\n");
}

TEST_F(FsCommandsTest, LsOfSeveralDirectoriesHeadsEach) {
  ASSERT_TRUE(fs_.MakeDirectory("/a").ok());
  ASSERT_TRUE(fs_.MakeDirectory("/b").ok());
  ASSERT_TRUE(fs_.WriteFileFromString("/b/x", "").ok());
  EXPECT_EQ(Command({"ls", "/a", "/b"}).out, "/a:\n\n/b:\nx\n");
}

TEST_F(FsCommandsTest, LsOfAMissingPathFailsWithTheErrno) {
  Run run = Command({"ls", "/nothing"});
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.err, "fs: ls /nothing: No such file or directory (ENOENT)\n");
}

TEST_F(FsCommandsTest, StatShowsTheAttributes) {
  ASSERT_TRUE(fs_.WriteFileFromString("/f", "hello", 0604).ok());
  Run run = Command({"stat", "/f"});
  EXPECT_EQ(run.code, 0);
  EXPECT_THAT(run.out, StartsWith("  File: /f\n  Size: 5 "));
  EXPECT_THAT(run.out, HasSubstr("regular file"));
  EXPECT_THAT(run.out, HasSubstr("Links: 1"));
  EXPECT_THAT(run.out, HasSubstr("Access: (0604/-rw----r--)"));
}

TEST_F(FsCommandsTest, StatGoesOnPastAMissingPath) {
  ASSERT_TRUE(fs_.MakeDirectory("/d").ok());
  Run run = Command({"stat", "/missing", "/d"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out, HasSubstr("File: /d"));
  EXPECT_THAT(run.err, HasSubstr("stat /missing"));
}

TEST_F(FsCommandsTest, CatWritesFilesInOrder) {
  ASSERT_TRUE(fs_.WriteFileFromString("/a", "one\n").ok());
  ASSERT_TRUE(fs_.WriteFileFromString("/b", "two\n").ok());
  Run run = Command({"cat", "/a", "/b"});
  EXPECT_EQ(run.code, 0);
  EXPECT_EQ(run.out, "one\ntwo\n");
}

TEST_F(FsCommandsTest, CatOfADirectoryIsEisdir) {
  ASSERT_TRUE(fs_.MakeDirectory("/d").ok());
  Run run = Command({"cat", "/d"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("(EISDIR)"));
}

TEST_F(FsCommandsTest, PutAndGetCopyAFileBothWays) {
  std::string bytes(5 * kMaxIoSize + 17, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + i / 1000);
  const std::string local = LocalPath("put-source");
  WriteLocal(local, bytes);
  chmod(local.c_str(), 0751);
  ASSERT_EQ(Command({"put", local, "/copy"}).code, 0);
  EXPECT_EQ(fs_.Stat("/copy")->mode(), S_IFREG | 0751u);
  EXPECT_TRUE(*fs_.ReadFileToString("/copy") == bytes);
  const std::string back = LocalPath("get-destination");
  ASSERT_EQ(Command({"get", "/copy", back}).code, 0);
  EXPECT_TRUE(ReadLocal(back) == bytes);
}

TEST_F(FsCommandsTest, PutIntoADirectoryKeepsTheName) {
  ASSERT_TRUE(fs_.MakeDirectory("/d").ok());
  const std::string local = LocalPath("named.txt");
  WriteLocal(local, "x");
  ASSERT_EQ(Command({"put", local, "/d"}).code, 0);
  EXPECT_EQ(*fs_.ReadFileToString("/d/named.txt"), "x");
}

TEST_F(FsCommandsTest, GetIntoALocalDirectoryKeepsTheName) {
  ASSERT_TRUE(fs_.WriteFileFromString("/remote.txt", "y").ok());
  const std::string dir = LocalPath("get-into");
  mkdir(dir.c_str(), 0755);
  ASSERT_EQ(Command({"get", "/remote.txt", dir}).code, 0);
  EXPECT_EQ(ReadLocal(dir + "/remote.txt"), "y");
}

TEST_F(FsCommandsTest, PutOfAMissingLocalFileFails) {
  Run run = Command({"put", LocalPath("no-such-file"), "/x"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("(ENOENT)"));
  EXPECT_EQ(ErrnoOf(fs_.Stat("/x").status()), ENOENT);
}

TEST_F(FsCommandsTest, GetOfAMissingRemoteFileLeavesNoLocalFile) {
  const std::string local = LocalPath("never-made");
  Run run = Command({"get", "/nothing", local});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(access(local.c_str(), F_OK), 0);
}

TEST_F(FsCommandsTest, MkdirRmAndMv) {
  ASSERT_EQ(Command({"mkdir", "/a", "/b"}).code, 0);
  ASSERT_TRUE(fs_.WriteFileFromString("/a/f", "z").ok());
  ASSERT_EQ(Command({"mv", "/a/f", "/b"}).code, 0);  // into the directory
  EXPECT_EQ(*fs_.ReadFileToString("/b/f"), "z");
  ASSERT_EQ(Command({"mv", "/b/f", "/b/g"}).code, 0);  // a plain rename
  EXPECT_EQ(*fs_.ReadFileToString("/b/g"), "z");
  Run full = Command({"rm", "/b"});
  EXPECT_EQ(full.code, 1);
  EXPECT_THAT(full.err, HasSubstr("rm /b: Directory not empty (ENOTEMPTY)"));
  EXPECT_EQ(Command({"rm", "/b/g", "/b", "/a"}).code, 0);
  EXPECT_EQ(Command({"ls"}).out, "");
}

TEST_F(FsCommandsTest, MkdirAppliesTheUmask) {
  mode_t old = umask(027);
  EXPECT_EQ(Command({"mkdir", "/d"}).code, 0);
  umask(old);
  EXPECT_EQ(fs_.Stat("/d")->mode(), S_IFDIR | 0750u);
}

TEST_F(FsCommandsTest, BadUsageIsExitCodeTwo) {
  EXPECT_EQ(Command({}).code, 2);
  EXPECT_EQ(Command({"frobnicate"}).code, 2);
  EXPECT_EQ(Command({"cat"}).code, 2);
  EXPECT_EQ(Command({"mv", "/a"}).code, 2);
  Run run = Command({"put", "a", "b", "c"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("put: needs two paths"));
}

TEST(ModeStringTest, ShowsTypePermissionsAndSpecialBits) {
  EXPECT_EQ(ModeString(S_IFDIR | 0755), "drwxr-xr-x");
  EXPECT_EQ(ModeString(S_IFREG | 0640), "-rw-r-----");
  EXPECT_EQ(ModeString(S_IFLNK | 0777), "lrwxrwxrwx");
  EXPECT_EQ(ModeString(S_IFREG | 04755), "-rwsr-xr-x");
  EXPECT_EQ(ModeString(S_IFREG | 02644), "-rw-r-Sr--");
  EXPECT_EQ(ModeString(S_IFDIR | 01777), "drwxrwxrwt");
}

}  // namespace
}  // namespace syslink::examples::fs
