// MemFs's permission checks against the caller's uid and gid, over links made with
// Link::CreatePair whose server side is given a PeerIdentity (as the broker would attest
// it). In process the caller is always this process, so these run on links only.
//
// Identities: kAlice and kBob are ordinary users; kStaff a group; uid 0 is root.

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "examples/fs/memfs_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

class PermissionTest : public MemFsTest {
 protected:
  void SetUp() override {
    MemFsTest::SetUp();
    root_ = ConnectAs(0, 0);
    alice_ = ConnectAs(kAlice, kAlice);
    bob_ = ConnectAs(kBob, kStaff);
    // A world-writable place for everyone, as /tmp (without the sticky bit).
    shared_ = Ok(root_->Mkdir(kRootIno, "shared", 0777)).ino();
  }
  void TearDown() override {
    root_.reset();
    alice_.reset();
    bob_.reset();
    MemFsTest::TearDown();
  }

  // Alice's file in the shared directory.
  uint64_t AliceFile(const std::string& name, uint32_t mode, const std::string& contents = "") {
    FsClient::Created created = Ok(alice_->Create(shared_, name, 0600, O_WRONLY | O_EXCL));
    EXPECT_TRUE(
        alice_->WriteFully(created.entry.ino(), created.fh, 0, std::as_bytes(std::span(contents)))
            .ok());
    EXPECT_TRUE(alice_->Release(created.entry.ino(), created.fh).ok());
    SetAttrRequest chmod;
    chmod.set_ino(created.entry.ino());
    chmod.set_valid(SET_ATTR_MODE);
    chmod.set_mode(mode);
    EXPECT_TRUE(alice_->SetAttr(chmod).ok());
    return created.entry.ino();
  }
  uint64_t AliceDir(const std::string& name, uint32_t mode) {
    return Ok(alice_->Mkdir(shared_, name, mode)).ino();
  }

  std::unique_ptr<FsClient> root_, alice_, bob_;
  uint64_t shared_ = 0;
};

TEST_P(PermissionTest, NewInodesBelongToTheCaller) {
  Entry made = Ok(bob_->Mkdir(shared_, "d", 0755));
  EXPECT_EQ(made.attr().uid(), kBob);
  EXPECT_EQ(made.attr().gid(), kStaff);
}

TEST_P(PermissionTest, CreatingInADirectoryWithoutWriteIsEacces) {
  uint64_t dir = AliceDir("d", 0755);
  EXPECT_EQ(Errno(bob_->Mkdir(dir, "x", 0755)), "EACCES");
  EXPECT_EQ(Errno(bob_->Create(dir, "x", 0644, O_RDWR)), "EACCES");
  EXPECT_EQ(Errno(bob_->Symlink(dir, "x", "t")), "EACCES");
  EXPECT_EQ(Errno(bob_->Mknod(dir, "x", S_IFIFO | 0644)), "EACCES");
}

TEST_P(PermissionTest, AnExistingNameIsEexistEvenWithoutWrite) {
  uint64_t dir = AliceDir("d", 0755);
  ASSERT_TRUE(alice_->Mkdir(dir, "x", 0755).ok());
  EXPECT_EQ(Errno(bob_->Mkdir(dir, "x", 0755)), "EEXIST");
}

TEST_P(PermissionTest, LookupWithoutSearchIsEacces) {
  uint64_t dir = AliceDir("d", 0700);
  ASSERT_TRUE(alice_->Mkdir(dir, "x", 0755).ok());
  EXPECT_EQ(Errno(bob_->Lookup(dir, "x")), "EACCES");
  EXPECT_EQ(Errno(alice_->Lookup(dir, "x")), "OK");
}

TEST_P(PermissionTest, OpenForReadingWithoutReadIsEacces) {
  uint64_t file = AliceFile("f", 0600, "secret");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDONLY)), "EACCES");
  EXPECT_EQ(Errno(alice_->Open(file, O_RDONLY)), "OK");
}

TEST_P(PermissionTest, OpenForWritingWithoutWriteIsEacces) {
  uint64_t file = AliceFile("f", 0644);
  EXPECT_EQ(Errno(bob_->Open(file, O_WRONLY)), "EACCES");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDWR)), "EACCES");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDONLY | O_TRUNC)), "EACCES");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDONLY)), "OK");
}

TEST_P(PermissionTest, TheOwnerIsBoundByTheOwnerBits) {
  uint64_t file = AliceFile("f", 0044);
  EXPECT_EQ(Errno(alice_->Open(file, O_RDONLY)), "EACCES");  // others may read; she may not
}

TEST_P(PermissionTest, GroupBitsApplyToTheFilesGroup) {
  uint64_t file = AliceFile("f", 0640, "for staff");
  SetAttrRequest chgrp;
  chgrp.set_ino(file);
  chgrp.set_valid(SET_ATTR_GID);
  chgrp.set_gid(kStaff);
  ASSERT_EQ(Errno(root_->SetAttr(chgrp)), "OK");
  EXPECT_EQ(Errno(bob_->Open(file, O_RDONLY)), "OK");  // bob's gid is kStaff
  std::unique_ptr<FsClient> carol = ConnectAs(4545, 4545);
  EXPECT_EQ(Errno(carol->Open(file, O_RDONLY)), "EACCES");
}

TEST_P(PermissionTest, CreateOfAnExistingFileChecksItsPermissions) {
  AliceFile("f", 0600);
  EXPECT_EQ(Errno(bob_->Create(shared_, "f", 0644, O_RDWR)), "EACCES");
}

TEST_P(PermissionTest, CreatorMayUseAFileWhateverItsMode) {
  FsClient::Created created = Ok(bob_->Create(shared_, "f", 0000, O_RDWR));
  const std::string data = "mine";
  EXPECT_EQ(
      Errno(bob_->WriteFully(created.entry.ino(), created.fh, 0, std::as_bytes(std::span(data)))),
      "OK");
}

TEST_P(PermissionTest, OpenDirWithoutReadIsEacces) {
  uint64_t dir = AliceDir("d", 0711);
  EXPECT_EQ(Errno(bob_->OpenDir(dir)), "EACCES");
  EXPECT_EQ(Errno(bob_->Lookup(dir, "nothing")), "ENOENT");  // search is allowed
}

TEST_P(PermissionTest, RemovingFromADirectoryWithoutWriteIsEacces) {
  uint64_t dir = AliceDir("d", 0755);
  ASSERT_TRUE(alice_->Mknod(dir, "f", 0644).ok());
  ASSERT_TRUE(alice_->Mkdir(dir, "e", 0777).ok());
  EXPECT_EQ(Errno(bob_->Unlink(dir, "f")), "EACCES");
  EXPECT_EQ(Errno(bob_->Rmdir(dir, "e")), "EACCES");
  EXPECT_EQ(Errno(bob_->Rename(dir, "f", shared_, "g")), "EACCES");
}

TEST_P(PermissionTest, StickyDirectoryKeepsOthersFromRemovingYourFiles) {
  uint64_t tmp = Ok(root_->Mkdir(kRootIno, "tmp", 01777)).ino();
  ASSERT_TRUE(alice_->Mknod(tmp, "hers", 0644).ok());
  EXPECT_EQ(Errno(bob_->Unlink(tmp, "hers")), "EPERM");
  EXPECT_EQ(Errno(bob_->Rename(tmp, "hers", tmp, "his")), "EPERM");
  EXPECT_EQ(Errno(alice_->Unlink(tmp, "hers")), "OK");
}

TEST_P(PermissionTest, MovingADirectoryToAnotherParentNeedsWriteOnIt) {
  AliceDir("d", 0555);
  uint64_t other = AliceDir("other", 0755);
  EXPECT_EQ(Errno(alice_->Rename(shared_, "d", other, "d")), "EACCES");
  EXPECT_EQ(Errno(alice_->Rename(shared_, "d", shared_, "renamed")), "OK");  // same parent
}

TEST_P(PermissionTest, ChmodByAnotherUserIsEperm) {
  uint64_t file = AliceFile("f", 0666);
  SetAttrRequest chmod;
  chmod.set_ino(file);
  chmod.set_valid(SET_ATTR_MODE);
  chmod.set_mode(0777);
  EXPECT_EQ(Errno(bob_->SetAttr(chmod)), "EPERM");
}

TEST_P(PermissionTest, ChownByAnyoneButRootIsEperm) {
  uint64_t file = AliceFile("f", 0644);
  SetAttrRequest chown;
  chown.set_ino(file);
  chown.set_valid(SET_ATTR_UID);
  chown.set_uid(kBob);
  EXPECT_EQ(Errno(alice_->SetAttr(chown)), "EPERM");
  EXPECT_EQ(Errno(bob_->SetAttr(chown)), "EPERM");
  EXPECT_EQ(Ok(root_->SetAttr(chown)).uid(), kBob);
}

TEST_P(PermissionTest, ChgrpToAGroupTheOwnerIsNotInIsEperm) {
  uint64_t file = AliceFile("f", 0644);
  SetAttrRequest chgrp;
  chgrp.set_ino(file);
  chgrp.set_valid(SET_ATTR_GID);
  chgrp.set_gid(kStaff);
  EXPECT_EQ(Errno(alice_->SetAttr(chgrp)), "EPERM");
  chgrp.set_gid(kAlice);
  EXPECT_EQ(Errno(alice_->SetAttr(chgrp)), "OK");
}

TEST_P(PermissionTest, TruncateWithoutWriteIsEacces) {
  uint64_t file = AliceFile("f", 0644, "keep");
  SetAttrRequest truncate;
  truncate.set_ino(file);
  truncate.set_valid(SET_ATTR_SIZE);
  truncate.set_size(0);
  EXPECT_EQ(Errno(bob_->SetAttr(truncate)), "EACCES");
  EXPECT_EQ(Ok(root_->SetAttr(truncate)).size(), 0u);
}

// As on Linux: a truncate by anyone but root drops the set-user-ID bit (and set-group-ID
// with group execute), whether by SetAttr or by an open with O_TRUNC.
TEST_P(PermissionTest, TruncatingClearsSetIdBitsUnlessByRoot) {
  uint64_t file = AliceFile("f", 06777, "data");
  SetAttrRequest truncate;
  truncate.set_ino(file);
  truncate.set_valid(SET_ATTR_SIZE);
  truncate.set_size(0);
  EXPECT_EQ(Ok(root_->SetAttr(truncate)).mode() & 07777, 06777u);
  EXPECT_EQ(Ok(bob_->SetAttr(truncate)).mode() & 07777, 0777u);
  SetAttrRequest chmod;
  chmod.set_ino(file);
  chmod.set_valid(SET_ATTR_MODE);
  chmod.set_mode(06777);
  ASSERT_TRUE(alice_->SetAttr(chmod).ok());
  uint64_t fh = Ok(bob_->Open(file, O_WRONLY | O_TRUNC));
  EXPECT_EQ(Ok(bob_->GetAttr(file)).mode() & 07777, 0777u);
  EXPECT_TRUE(bob_->Release(file, fh).ok());
}

// As on Linux: every chown of a file drops its set-user-ID bit, to the same owner and by
// root too; set-group-ID goes with it only if the group may execute (else it marks locking).
TEST_P(PermissionTest, ChownClearsSetIdBitsEvenToTheSameOwner) {
  uint64_t file = AliceFile("f", 06755);
  SetAttrRequest chown;
  chown.set_ino(file);
  chown.set_valid(SET_ATTR_UID | SET_ATTR_GID);
  chown.set_uid(kAlice);
  chown.set_gid(kAlice);
  EXPECT_EQ(Ok(alice_->SetAttr(chown)).mode() & 07777, 0755u);
  uint64_t locking = AliceFile("g", 06745);
  chown.set_ino(locking);
  EXPECT_EQ(Ok(root_->SetAttr(chown)).mode() & 07777, 02745u);
}

TEST_P(PermissionTest, SettingTimesOfAnotherUsersFile) {
  uint64_t file = AliceFile("f", 0666);
  SetAttrRequest touch;
  touch.set_ino(file);
  touch.set_valid(SET_ATTR_MTIME);
  touch.set_mtime_ns(12345);
  EXPECT_EQ(Errno(bob_->SetAttr(touch)), "EPERM");  // explicit times: the owner only
  touch.set_valid(SET_ATTR_MTIME | SET_ATTR_MTIME_NOW);
  EXPECT_EQ(Errno(bob_->SetAttr(touch)), "OK");  // "now": anyone who may write
  uint64_t locked = AliceFile("g", 0644);
  touch.set_ino(locked);
  EXPECT_EQ(Errno(bob_->SetAttr(touch)), "EACCES");
}

TEST_P(PermissionTest, DeviceNodesNeedRoot) {
  EXPECT_EQ(Errno(alice_->Mknod(shared_, "dev", S_IFCHR | 0600, 0x0103)), "EPERM");
  EXPECT_EQ(Errno(alice_->Mknod(shared_, "blk", S_IFBLK | 0600, 0x0801)), "EPERM");
  EXPECT_EQ(Errno(root_->Mknod(shared_, "dev", S_IFCHR | 0600, 0x0103)), "OK");
}

TEST_P(PermissionTest, RootBypassesReadWriteAndSearchBits) {
  uint64_t file = AliceFile("f", 0000, "locked");
  uint64_t dir = AliceDir("d", 0000);
  EXPECT_EQ(Errno(root_->Open(file, O_RDWR)), "OK");
  EXPECT_EQ(Errno(root_->Mkdir(dir, "x", 0755)), "OK");
  EXPECT_EQ(Errno(root_->OpenDir(dir)), "OK");
  EXPECT_EQ(Errno(alice_->Mkdir(dir, "y", 0755)), "EACCES");
}

TEST_P(PermissionTest, WriteByAnOrdinaryUserClearsSetUid) {
  uint64_t file = AliceFile("f", 06777);
  ASSERT_EQ(Ok(alice_->GetAttr(file)).mode(), S_IFREG | 06777u);
  uint64_t fh = Ok(bob_->Open(file, O_WRONLY));
  const std::string x = "x";
  ASSERT_EQ(Errno(bob_->WriteFully(file, fh, 0, std::as_bytes(std::span(x)))), "OK");
  EXPECT_EQ(Ok(bob_->GetAttr(file)).mode(), S_IFREG | 0777u);
}

TEST_P(PermissionTest, SetGroupIdDirectoryPassesItsGroupOn) {
  uint64_t dir = Ok(root_->Mkdir(kRootIno, "project", 02777)).ino();
  SetAttrRequest chgrp;
  chgrp.set_ino(dir);
  chgrp.set_valid(SET_ATTR_GID);
  chgrp.set_gid(kStaff);
  ASSERT_TRUE(root_->SetAttr(chgrp).ok());
  Entry file = Ok(alice_->Mknod(dir, "f", 0644));
  EXPECT_EQ(file.attr().gid(), kStaff);
  Entry sub = Ok(alice_->Mkdir(dir, "sub", 0755));
  EXPECT_EQ(sub.attr().gid(), kStaff);
  EXPECT_TRUE(sub.attr().mode() & S_ISGID);
}

INSTANTIATE_TEST_SUITE_P(Links, PermissionTest,
                         ::testing::Values(Transport::kLink, Transport::kLinkWorkers),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
