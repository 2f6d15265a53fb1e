// PassthroughFs's permission checks against the caller's uid and gid, over links whose
// server side is given a PeerIdentity (as the broker would attest it); the test runs as
// root, so the host itself would allow everything. Built twice: acting as each caller
// (passthrough_permission_test: the host kernel checks) and checking in the server
// (passthrough_checked_permission_test: memfs's rules against the host's stat).
//
// Files are set up on the host with their owner and mode, so that both builds start from
// the same tree. Identities: kAlice and kBob are ordinary users; kStaff a group; 0 root.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_split.h"
#include "examples/fs/passthrough/passthrough_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

#ifdef PASSTHROUGH_TEST_CHECK_ACCESS
constexpr CallerAccess kAccess = CallerAccess::kCheckAsServer;
#else
constexpr CallerAccess kAccess = CallerAccess::kActAsCaller;
#endif

class PermissionTest : public PassthroughTest {
 protected:
  PermissionTest() : PassthroughTest(kAccess) {}
  void SetUp() override {
    PassthroughTest::SetUp();
    root_ = ConnectAs(0, 0);
    alice_ = ConnectAs(kAlice, kAlice);
    bob_ = ConnectAs(kBob, kStaff);
    // A world-writable place for everyone, as /tmp (without the sticky bit).
    shared_ = HostDir("shared", 0777, 0, 0);
  }
  void TearDown() override {
    root_.reset();
    alice_.reset();
    bob_.reset();
    PassthroughTest::TearDown();
  }

  // A file or directory made on the host in "shared", owned by `uid`:`gid`; its inode.
  uint64_t HostFile(const std::string& name, mode_t mode, uid_t uid = kAlice, gid_t gid = kAlice,
                    const std::string& contents = "") {
    HostWrite(HostPath("shared/" + name), contents);
    return Own("shared/" + name, mode, uid, gid);
  }
  uint64_t HostDir(const std::string& relative, mode_t mode, uid_t uid = kAlice,
                   gid_t gid = kAlice) {
    EXPECT_EQ(mkdir(HostPath(relative).c_str(), 0700), 0) << relative;
    return Own(relative, mode, uid, gid);
  }
  uint64_t Own(const std::string& relative, mode_t mode, uid_t uid, gid_t gid) {
    EXPECT_EQ(chown(HostPath(relative).c_str(), uid, gid), 0) << relative;
    EXPECT_EQ(chmod(HostPath(relative).c_str(), mode), 0) << relative;
    uint64_t at = kRootIno;
    for (absl::string_view name : absl::StrSplit(relative, '/')) {
      at = Ok(root_->Lookup(at, name)).ino();
    }
    return at;
  }
  bool Exists(const std::string& relative) { return access(HostPath(relative).c_str(), F_OK) == 0; }

  std::unique_ptr<FsClient> root_, alice_, bob_;
  uint64_t shared_ = 0;
};

TEST_P(PermissionTest, NewFilesBelongToTheCallerWhenActingAsIt) {
  Entry dir = Ok(bob_->Mkdir(shared_, "d", 0755));
  FsClient::Created file = Ok(bob_->Create(shared_, "f", 0644, O_WRONLY));
  Entry link = Ok(bob_->Symlink(shared_, "l", "f"));
  const uid_t uid = acts_as_caller() ? kBob : 0;
  const gid_t gid = acts_as_caller() ? kStaff : 0;
  for (const Entry* entry : {&dir, &file.entry, &link}) {
    EXPECT_EQ(entry->attr().uid(), uid);
    EXPECT_EQ(entry->attr().gid(), gid);
  }
  EXPECT_EQ(HostStat("shared/d").st_uid, uid);
  EXPECT_EQ(HostStat("shared/f").st_gid, gid);
  EXPECT_EQ(HostStat("shared/l").st_uid, uid);
  EXPECT_TRUE(bob_->Release(file.entry.ino(), file.fh).ok());
}

TEST_P(PermissionTest, CreatingInADirectoryWithoutWriteIsEacces) {
  uint64_t dir = HostDir("shared/d", 0755);
  EXPECT_EQ(Errno(bob_->Mkdir(dir, "x", 0755)), "EACCES");
  EXPECT_EQ(Errno(bob_->Create(dir, "x", 0644, O_RDWR)), "EACCES");
  EXPECT_EQ(Errno(bob_->Symlink(dir, "x", "t")), "EACCES");
  EXPECT_EQ(Errno(bob_->Mknod(dir, "x", S_IFIFO | 0644)), "EACCES");
  uint64_t file = HostFile("f", 0644, kBob, kStaff);
  EXPECT_EQ(Errno(bob_->Link(file, dir, "x")), "EACCES");
  EXPECT_FALSE(Exists("shared/d/x"));
  EXPECT_EQ(Errno(alice_->Mkdir(dir, "x", 0755)), "OK");
}

TEST_P(PermissionTest, AnExistingNameIsEexistEvenWithoutWrite) {
  uint64_t dir = HostDir("shared/d", 0755);
  ASSERT_TRUE(alice_->Mkdir(dir, "x", 0755).ok());
  EXPECT_EQ(Errno(bob_->Mkdir(dir, "x", 0755)), "EEXIST");
  EXPECT_EQ(Errno(bob_->Create(dir, "x", 0644, O_RDWR | O_EXCL)), "EEXIST");
}

TEST_P(PermissionTest, LookupWithoutSearchIsEacces) {
  uint64_t dir = HostDir("shared/d", 0700);
  ASSERT_TRUE(alice_->Mkdir(dir, "x", 0755).ok());
  EXPECT_EQ(Errno(bob_->Lookup(dir, "x")), "EACCES");
  EXPECT_EQ(Errno(alice_->Lookup(dir, "x")), "OK");
}

TEST_P(PermissionTest, OpenForReadingWithoutReadIsEacces) {
  uint64_t file = HostFile("f", 0600, kAlice, kAlice, "secret");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDONLY)), "EACCES");
  EXPECT_EQ(Errno(bob_->Create(shared_, "f", 0644, O_RDONLY)), "EACCES");
  uint64_t fh = Ok(alice_->Open(file, O_RDONLY));
  EXPECT_TRUE(alice_->Release(file, fh).ok());
}

TEST_P(PermissionTest, OpenForWritingWithoutWriteIsEacces) {
  uint64_t file = HostFile("f", 0644, kAlice, kAlice, "keep");
  EXPECT_EQ(Errno(bob_->Open(file, O_WRONLY)), "EACCES");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDWR)), "EACCES");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDONLY | O_TRUNC)), "EACCES");
  EXPECT_EQ(HostRead(HostPath("shared/f")), "keep");
}

TEST_P(PermissionTest, TheOwnerIsBoundByTheOwnerBits) {
  uint64_t file = HostFile("f", 0044);
  EXPECT_EQ(Errno(alice_->Open(file, O_RDONLY)), "EACCES");  // others may read; she may not
}

TEST_P(PermissionTest, GroupBitsApplyToTheFilesGroup) {
  uint64_t file = HostFile("f", 0640, kAlice, kStaff, "for staff");
  uint64_t fh = Ok(bob_->Open(file, O_RDONLY));  // bob's gid is kStaff
  EXPECT_TRUE(bob_->Release(file, fh).ok());
  std::unique_ptr<FsClient> carol = ConnectAs(4545, 4545);
  EXPECT_EQ(Errno(carol->Open(file, O_RDONLY)), "EACCES");
}

TEST_P(PermissionTest, OpenDirWithoutReadIsEacces) {
  uint64_t dir = HostDir("shared/d", 0711);
  EXPECT_EQ(Errno(bob_->OpenDir(dir)), "EACCES");
  EXPECT_EQ(Errno(bob_->Lookup(dir, "nothing")), "ENOENT");  // search is allowed
}

TEST_P(PermissionTest, RemovingFromADirectoryWithoutWriteIsEacces) {
  uint64_t dir = HostDir("shared/d", 0755);
  HostDir("shared/d/e", 0777);
  HostWrite(HostPath("shared/d/f"), "");
  EXPECT_EQ(Errno(bob_->Unlink(dir, "f")), "EACCES");
  EXPECT_EQ(Errno(bob_->Rmdir(dir, "e")), "EACCES");
  EXPECT_EQ(Errno(bob_->Rename(dir, "f", shared_, "g")), "EACCES");
  EXPECT_TRUE(Exists("shared/d/f"));
  EXPECT_TRUE(Exists("shared/d/e"));
}

TEST_P(PermissionTest, StickyDirectoryKeepsOthersFromRemovingYourFiles) {
  uint64_t tmp = HostDir("tmp", 01777, 0, 0);
  HostWrite(HostPath("tmp/hers"), "");
  ASSERT_EQ(chown(HostPath("tmp/hers").c_str(), kAlice, kAlice), 0);
  EXPECT_EQ(Errno(bob_->Unlink(tmp, "hers")), "EPERM");
  EXPECT_EQ(Errno(bob_->Rename(tmp, "hers", tmp, "his")), "EPERM");
  EXPECT_EQ(Errno(alice_->Unlink(tmp, "hers")), "OK");
}

TEST_P(PermissionTest, MovingADirectoryToAnotherParentNeedsWriteOnIt) {
  HostDir("shared/d", 0555);
  uint64_t other = HostDir("shared/other", 0755);
  EXPECT_EQ(Errno(alice_->Rename(shared_, "d", other, "d")), "EACCES");
  EXPECT_EQ(Errno(alice_->Rename(shared_, "d", shared_, "renamed")), "OK");  // same parent
}

TEST_P(PermissionTest, ExchangingADirectoryIntoAnotherParentNeedsWriteOnIt) {
  HostDir("shared/d", 0755);
  uint64_t other = HostDir("shared/other", 0755);
  HostDir("shared/other/e", 0555);  // hers, but not writable: its ".." may not change
  HostDir("shared/other/f", 0755);
  EXPECT_EQ(Errno(alice_->Rename(shared_, "d", other, "e", RENAME_FLAG_EXCHANGE)), "EACCES");
  EXPECT_EQ(HostStat("shared/other/e").st_mode, S_IFDIR | 0555u);  // still there
  EXPECT_EQ(Errno(alice_->Rename(shared_, "d", other, "f", RENAME_FLAG_EXCHANGE)), "OK");
  EXPECT_EQ(Errno(alice_->Rename(other, "e", other, "f", RENAME_FLAG_EXCHANGE)), "OK");
}

TEST_P(PermissionTest, OwnerOnlyChangesByAnotherUserAreEperm) {
  uint64_t file = HostFile("f", 0666);
  SetAttrRequest request;
  request.set_ino(file);
  request.set_valid(SET_ATTR_MODE);
  request.set_mode(0777);
  EXPECT_EQ(Errno(bob_->SetAttr(request)), "EPERM");
  request.set_valid(SET_ATTR_MTIME);
  request.set_mtime_ns(12345);
  EXPECT_EQ(Errno(bob_->SetAttr(request)), "EPERM");  // explicit times: the owner only
  request.set_valid(SET_ATTR_UID);
  request.set_uid(kBob);
  EXPECT_EQ(Errno(bob_->SetAttr(request)), "EPERM");
  EXPECT_EQ(HostStat("shared/f").st_mode, S_IFREG | 0666u);
  EXPECT_EQ(HostStat("shared/f").st_uid, kAlice);
  EXPECT_EQ(Ok(root_->SetAttr(request)).uid(), kBob);
}

TEST_P(PermissionTest, TouchingBothTimesNowNeedsWriteOrOwnership) {
  uint64_t writable = HostFile("f", 0666);
  SetAttrRequest touch;
  touch.set_ino(writable);
  touch.set_valid(SET_ATTR_ATIME | SET_ATTR_MTIME | SET_ATTR_ATIME_NOW | SET_ATTR_MTIME_NOW);
  EXPECT_EQ(Errno(bob_->SetAttr(touch)), "OK");
  touch.set_valid(SET_ATTR_MTIME | SET_ATTR_MTIME_NOW);
  EXPECT_EQ(Errno(bob_->SetAttr(touch)), "EPERM");  // one time alone: the owner's, as utimensat
  touch.set_valid(SET_ATTR_ATIME_NOW | SET_ATTR_MTIME_NOW);
  touch.set_ino(HostFile("g", 0644));
  EXPECT_EQ(Errno(bob_->SetAttr(touch)), "EACCES");
}

TEST_P(PermissionTest, TruncateWithoutWriteIsEacces) {
  uint64_t file = HostFile("f", 0644, kAlice, kAlice, "keep");
  SetAttrRequest truncate;
  truncate.set_ino(file);
  truncate.set_valid(SET_ATTR_SIZE);
  truncate.set_size(0);
  EXPECT_EQ(Errno(bob_->SetAttr(truncate)), "EACCES");
  EXPECT_EQ(HostRead(HostPath("shared/f")), "keep");
  EXPECT_EQ(Ok(root_->SetAttr(truncate)).size(), 0u);
}

TEST_P(PermissionTest, DeviceNodesNeedRoot) {
  EXPECT_EQ(Errno(alice_->Mknod(shared_, "dev", S_IFCHR | 0600, 0x0103)), "EPERM");
  EXPECT_EQ(Errno(alice_->Mknod(shared_, "blk", S_IFBLK | 0600, 0x0801)), "EPERM");
  EXPECT_FALSE(Exists("shared/dev"));
  Entry dev = Ok(root_->Mknod(shared_, "dev", S_IFCHR | 0600, 0x0103));
  EXPECT_EQ(dev.attr().rdev(), 0x0103u);
  EXPECT_TRUE(S_ISCHR(HostStat("shared/dev").st_mode));
}

TEST_P(PermissionTest, RootBypassesReadWriteAndSearchBits) {
  uint64_t file = HostFile("f", 0000, kAlice, kAlice, "locked");
  uint64_t dir = HostDir("shared/d", 0000);
  uint64_t fh = Ok(root_->Open(file, O_RDWR));
  EXPECT_TRUE(root_->Release(file, fh).ok());
  EXPECT_EQ(Errno(root_->Mkdir(dir, "x", 0755)), "OK");
  EXPECT_EQ(Errno(alice_->Mkdir(dir, "y", 0755)), "EACCES");
}

TEST_P(PermissionTest, OneCallersDenialDoesNotStickToTheNext) {
  uint64_t dir = HostDir("shared/d", 0700, 0, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Errno(alice_->Mkdir(dir, "x", 0755)), "EACCES");
    EXPECT_EQ(Errno(root_->Mkdir(dir, "x", 0755)), "OK");
    EXPECT_EQ(HostStat("shared/d/x").st_uid, 0u);
    ASSERT_TRUE(root_->Rmdir(dir, "x").ok());
  }
}

// Set-ID bits. Acting as the caller, the host kernel keeps them as it does for a local
// user; checking for the caller, the host acts as the server (root here, with
// CAP_FSETID), so the server itself keeps them from callers as the kernel would.

TEST_P(PermissionTest, AnOrdinaryUserMakesNoSetIdFileOfAnotherUser) {
  FsClient::Created file = Ok(bob_->Create(shared_, "f", 06755, O_WRONLY | O_EXCL));
  EXPECT_TRUE(bob_->Release(file.entry.ino(), file.fh).ok());
  ASSERT_EQ(Errno(bob_->Mknod(shared_, "n", S_IFREG | 06755)), "OK");
  for (const char* name : {"shared/f", "shared/n"}) {
    const struct stat st = HostStat(name);
    if (acts_as_caller()) {
      EXPECT_EQ(st.st_uid, kBob) << name;  // his own: set-ID bits are his to set
    } else {
      EXPECT_EQ(st.st_mode, S_IFREG | 0755u) << name;  // the server's: none
    }
  }
}

TEST_P(PermissionTest, WriteByAnOrdinaryUserClearsSetUid) {
  uint64_t file = HostFile("f", 06777);
  uint64_t fh = Ok(bob_->Open(file, O_WRONLY));
  const std::string x = "x";
  ASSERT_EQ(Errno(bob_->WriteFully(file, fh, 0, std::as_bytes(std::span(x)))), "OK");
  EXPECT_EQ(HostStat("shared/f").st_mode, S_IFREG | 0777u);
  EXPECT_TRUE(bob_->Release(file, fh).ok());
}

TEST_P(PermissionTest, WriteByAGroupMemberKeepsSetGidWithoutGroupExecute) {
  uint64_t file = HostFile("f", 06767, kAlice, kStaff);  // bob's group; no group execute
  uint64_t fh = Ok(bob_->Open(file, O_WRONLY));
  const std::string x = "x";
  ASSERT_EQ(Errno(bob_->WriteFully(file, fh, 0, std::as_bytes(std::span(x)))), "OK");
  EXPECT_EQ(HostStat("shared/f").st_mode, S_IFREG | 02767u);
  EXPECT_TRUE(bob_->Release(file, fh).ok());
}

TEST_P(PermissionTest, WriteByRootKeepsSetUid) {
  uint64_t file = HostFile("f", 06777);
  uint64_t fh = Ok(root_->Open(file, O_WRONLY));
  const std::string x = "x";
  ASSERT_EQ(Errno(root_->WriteFully(file, fh, 0, std::as_bytes(std::span(x)))), "OK");
  EXPECT_EQ(HostStat("shared/f").st_mode, S_IFREG | 06777u);
  EXPECT_TRUE(root_->Release(file, fh).ok());
}

TEST_P(PermissionTest, TruncateByAnOrdinaryUserClearsSetUid) {
  uint64_t file = HostFile("f", 06777, kAlice, kAlice, "data");
  SetAttrRequest truncate;
  truncate.set_ino(file);
  truncate.set_valid(SET_ATTR_SIZE);
  truncate.set_size(1);
  EXPECT_EQ(Ok(bob_->SetAttr(truncate)).mode(), S_IFREG | 0777u);
  ASSERT_EQ(chmod(HostPath("shared/f").c_str(), 06777), 0);
  truncate.set_fh(Ok(bob_->Open(file, O_WRONLY)));  // through a handle
  EXPECT_EQ(Ok(bob_->SetAttr(truncate)).mode(), S_IFREG | 0777u);
  EXPECT_TRUE(bob_->Release(file, truncate.fh()).ok());
}

TEST_P(PermissionTest, OpenWithTruncateByAnOrdinaryUserClearsSetUid) {
  uint64_t file = HostFile("f", 06777, kAlice, kAlice, "data");
  uint64_t fh = Ok(bob_->Open(file, O_WRONLY | O_TRUNC));
  EXPECT_EQ(HostStat("shared/f").st_mode, S_IFREG | 0777u);
  EXPECT_TRUE(bob_->Release(file, fh).ok());
}

TEST_P(PermissionTest, FallocateByAnOrdinaryUserClearsSetUid) {
  uint64_t file = HostFile("f", 06777);
  uint64_t fh = Ok(bob_->Open(file, O_WRONLY));
  ASSERT_EQ(Errno(bob_->Fallocate(file, fh, FALLOCATE_ALLOCATE, 0, 4096)), "OK");
  EXPECT_EQ(HostStat("shared/f").st_mode, S_IFREG | 0777u);
  EXPECT_TRUE(bob_->Release(file, fh).ok());
}

TEST_P(PermissionTest, CopyFileRangeByAnOrdinaryUserClearsSetUidOfItsTarget) {
  uint64_t source = HostFile("source", 0644, kBob, kStaff, "bytes");
  uint64_t target = HostFile("target", 06777);
  uint64_t in = Ok(bob_->Open(source, O_RDONLY));
  uint64_t out = Ok(bob_->Open(target, O_WRONLY));
  EXPECT_EQ(Ok(bob_->CopyFileRange(source, in, 0, target, out, 0, 5)), 5u);
  EXPECT_EQ(HostStat("shared/target").st_mode, S_IFREG | 0777u);
  EXPECT_TRUE(bob_->Release(source, in).ok());
  EXPECT_TRUE(bob_->Release(target, out).ok());
}

INSTANTIATE_TEST_SUITE_P(Links, PermissionTest,
                         ::testing::Values(Transport::kLink, Transport::kLinkWorkers),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
