// PassthroughFs's namespace rpcs on every transport, checked through the client and on the
// host: Init, Statfs, Lookup, Forget, GetAttr, SetAttr, Mkdir, Mknod, Symlink, Link,
// Unlink, Rmdir, Rename, ReadLink, and the names every rpc refuses.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "examples/fs/passthrough/passthrough_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

// --- Init, Statfs ---

TEST_P(PassthroughTest, InitGivesTheRootAndTheLimits) {
  InitResponse init = Ok(fs().Init());
  EXPECT_EQ(init.root_ino(), kRootIno);
  EXPECT_EQ(init.max_read(), kMaxIoSize);
  EXPECT_EQ(init.max_readdir(), kMaxIoSize);
}

TEST_P(PassthroughTest, InitRefusesAnotherProtocolVersion) {
  InitRequest request;
  request.set_protocol_version(kProtocolVersion + 1);
  InitResponse response;
  ASSERT_TRUE(fs().stub().Init(request, &response, nullptr).ok());
  EXPECT_EQ(response.error(), EPROTO);
}

TEST_P(PassthroughTest, StatfsReportsTheHostFilesystem) {
  StatfsResponse statfs = Ok(fs().Statfs());
  EXPECT_EQ(statfs.name_max(), 255u);
  EXPECT_GT(statfs.blocks(), 0u);
  EXPECT_GT(statfs.block_size(), 0u);
}

// --- Lookup, Forget, GetAttr ---

TEST_P(PassthroughTest, LookupFindsAFileMadeOnTheHost) {
  HostWrite(HostPath("host.txt"), "12345");
  Entry found = Ok(fs().Lookup(kRootIno, "host.txt"));
  EXPECT_NE(found.ino(), kRootIno);
  EXPECT_TRUE(S_ISREG(found.attr().mode()));
  EXPECT_EQ(found.attr().size(), 5u);
  EXPECT_EQ(found.attr().ino(), found.ino());
}

TEST_P(PassthroughTest, LookupOfAMissingNameIsEnoent) {
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, "nothing")), "ENOENT");
}

TEST_P(PassthroughTest, LookupInAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Lookup(file.ino(), "x")), "ENOTDIR");
}

TEST_P(PassthroughTest, AnUnknownInodeIsEnoent) {
  EXPECT_EQ(Errno(fs().Lookup(999, "x")), "ENOENT");
  EXPECT_EQ(Errno(fs().GetAttr(999)), "ENOENT");
  EXPECT_EQ(Errno(fs().Mkdir(999, "x", 0755)), "ENOENT");
  EXPECT_EQ(Errno(fs().Open(999, O_RDONLY)), "ENOENT");
  EXPECT_EQ(Errno(fs().ReadLink(999)), "ENOENT");
  EXPECT_EQ(Errno(fs().Link(999, kRootIno, "x")), "ENOENT");
}

TEST_P(PassthroughTest, BadNamesAreRefusedBeforeTheHostSeesThem) {
  const std::string nul("a\0b", 3);
  for (const std::string& name : {std::string("a/b"), std::string(""), nul}) {
    EXPECT_EQ(Errno(fs().Lookup(kRootIno, name)), "EINVAL") << name;
    EXPECT_EQ(Errno(fs().Mkdir(kRootIno, name, 0755)), "EINVAL") << name;
    EXPECT_EQ(Errno(fs().Create(kRootIno, name, 0644, O_RDWR)), "EINVAL") << name;
    EXPECT_EQ(Errno(fs().Unlink(kRootIno, name)), "EINVAL") << name;
  }
  const std::string long_name(256, 'n');
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, long_name)), "ENAMETOOLONG");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, long_name, 0755)), "ENAMETOOLONG");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "x", kRootIno, long_name)), "ENAMETOOLONG");
  EXPECT_TRUE(fs().Mkdir(kRootIno, std::string(255, 'n'), 0755).ok());
}

TEST_P(PassthroughTest, OneHostFileHasOneNumber) {
  Entry made = MakeFile(kRootIno, "f");
  ASSERT_EQ(link(HostPath("f").c_str(), HostPath("g").c_str()), 0);
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "f")).ino(), made.ino());
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "g")).ino(), made.ino());
}

TEST_P(PassthroughTest, ForgetDropsAnInodeAfterItsLastLookup) {
  const size_t before = passthrough().inode_count();
  Entry made = MakeFile(kRootIno, "f");          // one lookup
  ASSERT_TRUE(fs().Lookup(kRootIno, "f").ok());  // two
  EXPECT_EQ(passthrough().inode_count(), before + 1);
  ASSERT_TRUE(fs().Forget(made.ino(), 1).ok());
  EXPECT_TRUE(fs().GetAttr(made.ino()).ok());
  ASSERT_TRUE(fs().Forget(made.ino(), 1).ok());
  EXPECT_EQ(Errno(fs().GetAttr(made.ino())), "ENOENT");
  EXPECT_EQ(passthrough().inode_count(), before);
  // Looked up again, the file gets a new number: numbers are never reused.
  EXPECT_NE(Ok(fs().Lookup(kRootIno, "f")).ino(), made.ino());
}

TEST_P(PassthroughTest, ForgetIgnoresTheRootAndUnknownInodes) {
  EXPECT_TRUE(fs().Forget(kRootIno, 100).ok());
  EXPECT_TRUE(fs().Forget(12345, 1).ok());
  EXPECT_TRUE(fs().GetAttr(kRootIno).ok());
}

TEST_P(PassthroughTest, AnUnlinkedInodeStaysWhileLookedUp) {
  Entry made = MakeFile(kRootIno, "f", "data");
  ASSERT_TRUE(fs().Unlink(kRootIno, "f").ok());
  Attr attr = Ok(fs().GetAttr(made.ino()));
  EXPECT_EQ(attr.nlink(), 0u);
  EXPECT_EQ(attr.size(), 4u);
}

// --- Making names ---

TEST_P(PassthroughTest, MkdirMakesAHostDirectoryWithTheModeAsked) {
  Entry made = MakeDir(kRootIno, "d", 0750);
  EXPECT_TRUE(S_ISDIR(made.attr().mode()));
  EXPECT_EQ(HostStat("d").st_mode, S_IFDIR | 0750);
  EXPECT_EQ(made.attr().mode(), S_IFDIR | 0750);
}

TEST_P(PassthroughTest, MakingAnExistingNameIsEexist) {
  MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "d", 0755)), "EEXIST");
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "d", "t")), "EEXIST");
  EXPECT_EQ(Errno(fs().Mknod(kRootIno, "d", S_IFIFO | 0644)), "EEXIST");
  for (const char* dots : {".", ".."}) {
    EXPECT_EQ(Errno(fs().Mkdir(kRootIno, dots, 0755)), "EEXIST") << dots;
    EXPECT_EQ(Errno(fs().Symlink(kRootIno, dots, "t")), "EEXIST") << dots;
  }
}

TEST_P(PassthroughTest, MknodMakesAFifoAndARegularFile) {
  Entry fifo = Ok(fs().Mknod(kRootIno, "fifo", S_IFIFO | 0640));
  EXPECT_TRUE(S_ISFIFO(HostStat("fifo").st_mode));
  EXPECT_TRUE(S_ISFIFO(fifo.attr().mode()));
  Ok(fs().Mknod(kRootIno, "plain", 0600));
  EXPECT_EQ(HostStat("plain").st_mode, S_IFREG | 0600);
}

TEST_P(PassthroughTest, MknodOfADirectoryOrSymlinkIsEinval) {
  EXPECT_EQ(Errno(fs().Mknod(kRootIno, "x", S_IFDIR | 0755)), "EINVAL");
  EXPECT_EQ(Errno(fs().Mknod(kRootIno, "x", S_IFLNK | 0777)), "EINVAL");
}

TEST_P(PassthroughTest, SymlinkMakesAHostSymlinkThatReadLinkReturns) {
  Entry link = Ok(fs().Symlink(kRootIno, "l", "some/where"));
  EXPECT_TRUE(S_ISLNK(link.attr().mode()));
  char target[64] = {};
  ASSERT_EQ(readlink(HostPath("l").c_str(), target, sizeof(target) - 1), 10);
  EXPECT_STREQ(target, "some/where");
  EXPECT_EQ(Ok(fs().ReadLink(link.ino())), "some/where");
}

TEST_P(PassthroughTest, SymlinkTargetsAreOneTo4095Bytes) {
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "l", "")), "ENOENT");
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "l", std::string(4096, 't'))), "ENAMETOOLONG");
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "l", std::string("a\0b", 3))), "EINVAL");
  EXPECT_TRUE(fs().Symlink(kRootIno, "l", std::string(4095, 't')).ok());
  EXPECT_EQ(Ok(fs().ReadLink(Ok(fs().Lookup(kRootIno, "l")).ino())).size(), 4095u);
}

TEST_P(PassthroughTest, ReadLinkOfAFileIsEinval) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().ReadLink(file.ino())), "EINVAL");
}

TEST_P(PassthroughTest, LinkGivesAHostFileAnotherName) {
  Entry file = MakeFile(kRootIno, "f", "shared");
  MakeDir(kRootIno, "d");
  Entry linked = Ok(fs().Link(file.ino(), Ok(fs().Lookup(kRootIno, "d")).ino(), "g"));
  EXPECT_EQ(linked.ino(), file.ino());
  EXPECT_EQ(linked.attr().nlink(), 2u);
  EXPECT_EQ(HostStat("d/g").st_ino, HostStat("f").st_ino);
  EXPECT_EQ(HostRead(HostPath("d/g")), "shared");
}

TEST_P(PassthroughTest, LinkOfASymlinkLinksTheSymlink) {
  Entry link = Ok(fs().Symlink(kRootIno, "l", "target"));
  Entry again = Ok(fs().Link(link.ino(), kRootIno, "l2"));
  EXPECT_EQ(again.ino(), link.ino());
  EXPECT_TRUE(S_ISLNK(HostStat("l2").st_mode));
}

TEST_P(PassthroughTest, LinkOfADirectoryIsEperm) {
  Entry dir = MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Link(dir.ino(), kRootIno, "e")), "EPERM");
}

TEST_P(PassthroughTest, LinkOfAnUnlinkedFileIsEnoent) {
  Entry file = MakeFile(kRootIno, "f");
  ASSERT_TRUE(fs().Unlink(kRootIno, "f").ok());
  EXPECT_EQ(Errno(fs().Link(file.ino(), kRootIno, "back")), "ENOENT");
}

// --- Removing names ---

TEST_P(PassthroughTest, UnlinkRemovesTheHostFile) {
  MakeFile(kRootIno, "f");
  ASSERT_TRUE(fs().Unlink(kRootIno, "f").ok());
  EXPECT_NE(access(HostPath("f").c_str(), F_OK), 0);
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, "f")), "ENOENT");
}

TEST_P(PassthroughTest, UnlinkOfADirectoryIsEisdir) {
  MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, "d")), "EISDIR");
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, ".")), "EISDIR");
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, "..")), "EISDIR");
}

TEST_P(PassthroughTest, RmdirRemovesAnEmptyHostDirectory) {
  MakeDir(kRootIno, "d");
  ASSERT_TRUE(fs().Rmdir(kRootIno, "d").ok());
  EXPECT_NE(access(HostPath("d").c_str(), F_OK), 0);
}

TEST_P(PassthroughTest, RmdirRefusesWhatIsNotAnEmptyDirectory) {
  Entry dir = MakeDir(kRootIno, "d");
  MakeFile(dir.ino(), "f");
  EXPECT_EQ(Errno(fs().Rmdir(kRootIno, "d")), "ENOTEMPTY");
  EXPECT_EQ(Errno(fs().Rmdir(dir.ino(), "f")), "ENOTDIR");
  EXPECT_EQ(Errno(fs().Rmdir(dir.ino(), ".")), "EINVAL");
  EXPECT_EQ(Errno(fs().Rmdir(dir.ino(), "..")), "ENOTEMPTY");
  EXPECT_EQ(Errno(fs().Rmdir(kRootIno, "missing")), "ENOENT");
  EXPECT_EQ(HostStat("d").st_mode & S_IFMT, static_cast<mode_t>(S_IFDIR));
}

// --- Rename ---

TEST_P(PassthroughTest, RenameMovesTheHostFile) {
  MakeFile(kRootIno, "f", "moved");
  Entry dir = MakeDir(kRootIno, "d");
  ASSERT_TRUE(fs().Rename(kRootIno, "f", dir.ino(), "g").ok());
  EXPECT_EQ(HostRead(HostPath("d/g")), "moved");
  EXPECT_NE(access(HostPath("f").c_str(), F_OK), 0);
}

TEST_P(PassthroughTest, RenameReplacesAnExistingName) {
  MakeFile(kRootIno, "a", "A");
  MakeFile(kRootIno, "b", "B");
  ASSERT_TRUE(fs().Rename(kRootIno, "a", kRootIno, "b").ok());
  EXPECT_EQ(HostRead(HostPath("b")), "A");
}

TEST_P(PassthroughTest, RenameNoReplaceRefusesAnExistingName) {
  MakeFile(kRootIno, "a", "A");
  MakeFile(kRootIno, "b", "B");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "b", RENAME_FLAG_NOREPLACE)), "EEXIST");
  EXPECT_EQ(HostRead(HostPath("b")), "B");
  EXPECT_TRUE(fs().Rename(kRootIno, "a", kRootIno, "c", RENAME_FLAG_NOREPLACE).ok());
}

TEST_P(PassthroughTest, RenameExchangeSwapsTwoNames) {
  MakeFile(kRootIno, "a", "A");
  MakeDir(kRootIno, "d");
  ASSERT_TRUE(fs().Rename(kRootIno, "a", kRootIno, "d", RENAME_FLAG_EXCHANGE).ok());
  EXPECT_TRUE(S_ISDIR(HostStat("a").st_mode));
  EXPECT_EQ(HostRead(HostPath("d")), "A");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "none", RENAME_FLAG_EXCHANGE)), "ENOENT");
}

TEST_P(PassthroughTest, RenameRefusesBadFlagsAndDots) {
  MakeFile(kRootIno, "a");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "b",
                              RENAME_FLAG_NOREPLACE | RENAME_FLAG_EXCHANGE)),
            "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "b", 4)), "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "..", kRootIno, "b")), "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, ".")), "EINVAL");
}

TEST_P(PassthroughTest, RenameOfADirectoryBelowItselfIsEinval) {
  Entry dir = MakeDir(kRootIno, "d");
  Entry sub = MakeDir(dir.ino(), "sub");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "d", sub.ino(), "x")), "EINVAL");
}

TEST_P(PassthroughTest, RenameChecksTheKindsOfBothNames) {
  MakeFile(kRootIno, "f");
  MakeDir(kRootIno, "empty");
  Entry full = MakeDir(kRootIno, "full");
  MakeFile(full.ino(), "x");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "empty")), "EISDIR");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "empty", kRootIno, "f")), "ENOTDIR");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "empty", kRootIno, "full")), "ENOTEMPTY");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "missing", kRootIno, "y")), "ENOENT");
}

TEST_P(PassthroughTest, AnInodeKeepsItsNumberAcrossARename) {
  Entry file = MakeFile(kRootIno, "f", "x");
  ASSERT_TRUE(fs().Rename(kRootIno, "f", kRootIno, "g").ok());
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "g")).ino(), file.ino());
}

// --- SetAttr ---

TEST_P(PassthroughTest, SetAttrChangesModeSizeAndTimesOnTheHost) {
  Entry file = MakeFile(kRootIno, "f", "0123456789");
  SetAttrRequest request;
  request.set_ino(file.ino());
  request.set_valid(SET_ATTR_MODE | SET_ATTR_SIZE | SET_ATTR_MTIME);
  request.set_mode(0604);
  request.set_size(4);
  request.set_mtime_ns(int64_t{1'000'000'000} * 1'000'000 + 5);
  Attr attr = Ok(fs().SetAttr(request));
  EXPECT_EQ(attr.mode(), S_IFREG | 0604);
  EXPECT_EQ(attr.size(), 4u);
  EXPECT_EQ(attr.mtime_ns(), request.mtime_ns());
  struct stat st = HostStat("f");
  EXPECT_EQ(st.st_mode, S_IFREG | 0604);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 5);
}

TEST_P(PassthroughTest, SetAttrChangesTheOwnerOnTheHost) {
  Entry file = MakeFile(kRootIno, "f");
  SetAttrRequest request;
  request.set_ino(file.ino());
  request.set_valid(SET_ATTR_UID | SET_ATTR_GID);
  request.set_uid(kAlice);
  request.set_gid(kStaff);
  ASSERT_TRUE(fs().SetAttr(request).ok());
  EXPECT_EQ(HostStat("f").st_uid, kAlice);
  EXPECT_EQ(HostStat("f").st_gid, kStaff);
}

TEST_P(PassthroughTest, SetAttrRefusesWhatCannotBeSet) {
  Entry dir = MakeDir(kRootIno, "d");
  Entry fifo = Ok(fs().Mknod(kRootIno, "p", S_IFIFO | 0644));
  SetAttrRequest request;
  request.set_ino(dir.ino());
  request.set_valid(SET_ATTR_SIZE);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EISDIR");
  request.set_ino(fifo.ino());
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EINVAL");
  request.set_valid(1u << 20);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EINVAL");
  request.set_ino(999);
  request.set_valid(SET_ATTR_MODE);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "ENOENT");
}

INSTANTIATE_TEST_SUITE_P(Transports, PassthroughTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
