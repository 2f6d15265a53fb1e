// Attempts to reach outside the served directory through PassthroughFs, on every
// transport: ".." of the root, symlinks pointing out (read, never followed), and the dot
// names every rpc refuses. Each test also checks the file outside is untouched.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "examples/fs/passthrough/passthrough_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr char kSecret[] = "outside the served directory\n";

class EscapeTest : public PassthroughTest {
 protected:
  void SetUp() override {
    PassthroughTest::SetUp();
    ASSERT_EQ(stat((outside() + "/secret").c_str(), &secret_before_), 0);
  }
  void TearDown() override {
    EXPECT_EQ(HostRead(outside() + "/secret"), kSecret);
    struct stat st;
    ASSERT_EQ(stat((outside() + "/secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode, secret_before_.st_mode);
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_EQ(st.st_mtim.tv_sec, secret_before_.st_mtim.tv_sec);
    PassthroughTest::TearDown();
  }
  // A symlink in the served root pointing at the outside directory, and one at its file.
  void LinkOutside() {
    ASSERT_EQ(symlink(outside().c_str(), HostPath("out").c_str()), 0);
    ASSERT_EQ(symlink((outside() + "/secret").c_str(), HostPath("secret").c_str()), 0);
  }

  struct stat secret_before_ = {};
};

TEST_P(EscapeTest, DotDotOfTheRootIsTheRoot) {
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "..")).ino(), kRootIno);
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, "outside")), "ENOENT");
  Entry up = Ok(fs().Lookup(kRootIno, ".."));
  EXPECT_EQ(Errno(fs().Lookup(up.ino(), "outside")), "ENOENT");
}

TEST_P(EscapeTest, DotDotClimbsNoHigherThanTheRoot) {
  Entry dir = MakeDir(kRootIno, "d");
  Entry sub = MakeDir(dir.ino(), "sub");
  EXPECT_EQ(Ok(fs().Lookup(sub.ino(), "..")).ino(), dir.ino());
  uint64_t at = sub.ino();
  for (int i = 0; i < 5; ++i) at = Ok(fs().Lookup(at, "..")).ino();
  EXPECT_EQ(at, kRootIno);
}

TEST_P(EscapeTest, ReadDirOfTheRootGivesTheRootAsDotDot) {
  uint64_t fh = Ok(fs().OpenDir(kRootIno));
  bool saw_dot_dot = false;
  for (const DirEntry& entry : Ok(fs().ReadDir(kRootIno, fh, 0))) {
    if (entry.name == "..") {
      saw_dot_dot = true;
      EXPECT_EQ(entry.ino, kRootIno);
    }
  }
  EXPECT_TRUE(saw_dot_dot);
  EXPECT_TRUE(fs().ReleaseDir(kRootIno, fh).ok());
}

TEST_P(EscapeTest, ASymlinkOutIsReadButNeverFollowed) {
  LinkOutside();
  Entry out = Ok(fs().Lookup(kRootIno, "out"));
  EXPECT_TRUE(S_ISLNK(out.attr().mode()));
  EXPECT_EQ(Ok(fs().ReadLink(out.ino())), outside());
  EXPECT_EQ(Errno(fs().Lookup(out.ino(), "secret")), "ENOTDIR");
  EXPECT_EQ(Errno(fs().OpenDir(out.ino())), "ENOTDIR");
  EXPECT_EQ(Errno(fs().Create(out.ino(), "new", 0644, O_WRONLY)), "ENOTDIR");
  EXPECT_EQ(Errno(fs().Mkdir(out.ino(), "new", 0755)), "ENOTDIR");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "out", out.ino(), "x")), "ENOTDIR");
  EXPECT_NE(access((outside() + "/new").c_str(), F_OK), 0);
}

TEST_P(EscapeTest, AFileOutsideIsNeverOpenedThroughASymlink) {
  LinkOutside();
  Entry secret = Ok(fs().Lookup(kRootIno, "secret"));
  EXPECT_EQ(Errno(fs().Open(secret.ino(), O_RDWR)), "ELOOP");
  EXPECT_EQ(Errno(fs().Open(secret.ino(), O_WRONLY | O_TRUNC)), "ELOOP");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "secret", 0644, O_WRONLY | O_TRUNC)), "ELOOP");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "secret", 0644, O_WRONLY | O_EXCL)), "EEXIST");
  EXPECT_EQ(Attr(Ok(fs().GetAttr(secret.ino()))).size(), outside().size() + 7);  // the link
}

TEST_P(EscapeTest, SetAttrOfASymlinkOutChangesNothingOutside) {
  LinkOutside();
  Entry secret = Ok(fs().Lookup(kRootIno, "secret"));
  SetAttrRequest request;
  request.set_ino(secret.ino());
  request.set_valid(SET_ATTR_SIZE);
  request.set_size(0);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EINVAL");
  request.set_valid(SET_ATTR_MODE);
  request.set_mode(0777);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EOPNOTSUPP");
  request.set_valid(SET_ATTR_MTIME);
  request.set_mtime_ns(1);
  EXPECT_EQ(Ok(fs().SetAttr(request)).mtime_ns(), 1);  // the symlink's own time
  EXPECT_EQ(HostStat("secret").st_mtim.tv_nsec, 1);
}

TEST_P(EscapeTest, ALinkOfASymlinkOutIsASymlink) {
  LinkOutside();
  Entry secret = Ok(fs().Lookup(kRootIno, "secret"));
  ASSERT_TRUE(fs().Link(secret.ino(), kRootIno, "again").ok());
  EXPECT_TRUE(S_ISLNK(HostStat("again").st_mode));
}

TEST_P(EscapeTest, DotNamesOfTheRootAreNeverChanged) {
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, "..")), "EISDIR");
  EXPECT_EQ(Errno(fs().Rmdir(kRootIno, "..")), "ENOTEMPTY");
  EXPECT_EQ(Errno(fs().Rmdir(kRootIno, ".")), "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "..", kRootIno, "up")), "EINVAL");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "..", 0755)), "EEXIST");
  EXPECT_EQ(Errno(fs().Link(kRootIno, kRootIno, "root")), "EPERM");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "..", 0644, O_RDWR)), "EISDIR");
  EXPECT_NE(access(HostPath("up").c_str(), F_OK), 0);
}

TEST_P(EscapeTest, RenameOfASymlinkOutMovesTheSymlink) {
  LinkOutside();
  Entry dir = MakeDir(kRootIno, "d");
  ASSERT_TRUE(fs().Rename(kRootIno, "secret", dir.ino(), "moved").ok());
  EXPECT_TRUE(S_ISLNK(HostStat("d/moved").st_mode));
  ASSERT_TRUE(fs().Unlink(dir.ino(), "moved").ok());
  EXPECT_EQ(access((outside() + "/secret").c_str(), F_OK), 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, EscapeTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
