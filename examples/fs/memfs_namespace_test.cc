// The namespace rpcs of MemFs through FsClient's inode layer (and so through the generated
// stub), on every transport: Init, Statfs, Lookup, Forget, GetAttr, SetAttr, Mkdir, Mknod,
// Symlink, Link, Unlink, Rmdir, Rename, ReadLink.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "examples/fs/memfs_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- Init and Statfs ---

TEST_P(MemFsTest, InitAgreesOnTheProtocolAndGivesTheLimits) {
  InitResponse init = Ok(fs().Init());
  EXPECT_EQ(init.protocol_version(), kProtocolVersion);
  EXPECT_EQ(init.root_ino(), kRootIno);
  EXPECT_EQ(init.max_read(), kMaxIoSize);
  EXPECT_EQ(init.max_write(), kMaxIoSize);
}

TEST_P(MemFsTest, InitRefusesAnotherProtocolVersion) {
  InitRequest request;
  request.set_protocol_version(kProtocolVersion + 1);
  InitResponse response;
  ASSERT_TRUE(fs().stub().Init(request, &response, nullptr).ok());
  EXPECT_EQ(response.error(), EPROTO);
}

TEST_P(MemFsTest, StatfsCountsBlocksAndInodesInUse) {
  StatfsResponse before = Ok(fs().Statfs());
  EXPECT_EQ(before.name_max(), 255u);
  EXPECT_EQ(before.blocks_free(), before.blocks());
  MakeFile(kRootIno, "f", Pattern(100000));
  StatfsResponse after = Ok(fs().Statfs());
  EXPECT_LT(after.blocks_free(), before.blocks_free());
  EXPECT_EQ(after.files_free(), before.files_free() - 1);
}

// --- Lookup, Forget, GetAttr ---

TEST_P(MemFsTest, LookupFindsAChild) {
  Entry made = MakeDir(kRootIno, "d");
  Entry found = Ok(fs().Lookup(kRootIno, "d"));
  EXPECT_EQ(found.ino(), made.ino());
  EXPECT_TRUE(S_ISDIR(found.attr().mode()));
}

TEST_P(MemFsTest, LookupOfAMissingNameIsEnoent) {
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, "nothing")), "ENOENT");
}

TEST_P(MemFsTest, LookupInAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Lookup(file.ino(), "x")), "ENOTDIR");
}

TEST_P(MemFsTest, LookupInAnUnknownInodeIsEnoent) {
  EXPECT_EQ(Errno(fs().Lookup(999999, "x")), "ENOENT");
}

TEST_P(MemFsTest, NameOf256BytesIsEnametoolong) {
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, std::string(256, 'n'))), "ENAMETOOLONG");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, std::string(256, 'n'), 0755)), "ENAMETOOLONG");
  EXPECT_EQ(Errno(fs().Create(kRootIno, std::string(256, 'n'), 0644, O_RDWR)), "ENAMETOOLONG");
}

TEST_P(MemFsTest, NameOf255BytesIsFine) {
  MakeDir(kRootIno, std::string(255, 'n'));
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, std::string(255, 'n'))), "OK");
}

TEST_P(MemFsTest, NamesNeedNotBeUtf8) {
  const std::string latin1 = "caf\xe9";  // as a Latin-1 system would name it
  Entry made = MakeDir(kRootIno, latin1);
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, latin1)).ino(), made.ino());
  EXPECT_EQ(Names(kRootIno), std::vector<std::string>{latin1});
  Entry link = Ok(fs().Symlink(kRootIno, "l", "\xff\xfe"));
  EXPECT_EQ(Ok(fs().ReadLink(link.ino())), "\xff\xfe");
}

TEST_P(MemFsTest, NamesWithSlashOrNulOrEmptyAreEinval) {
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "a/b", 0755)), "EINVAL");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, std::string("a\0b", 3), 0755)), "EINVAL");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "", 0755)), "EINVAL");
}

TEST_P(MemFsTest, DotAndDotDotLookUpTheDirectoryAndItsParent) {
  Entry d = MakeDir(kRootIno, "d");
  EXPECT_EQ(Ok(fs().Lookup(d.ino(), ".")).ino(), d.ino());
  EXPECT_EQ(Ok(fs().Lookup(d.ino(), "..")).ino(), kRootIno);
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "..")).ino(), kRootIno);
}

TEST_P(MemFsTest, UnlinkedInodeLivesUntilItsLookupsAreForgotten) {
  Entry file = MakeFile(kRootIno, "f", "data");  // one lookup, from Create
  const size_t inodes = tree().inode_count();
  ASSERT_EQ(Errno(fs().Unlink(kRootIno, "f")), "OK");
  EXPECT_EQ(tree().inode_count(), inodes);
  EXPECT_EQ(Ok(fs().GetAttr(file.ino())).nlink(), 0u);
  ASSERT_TRUE(fs().Forget(file.ino(), 1).ok());
  EXPECT_EQ(tree().inode_count(), inodes - 1);
  EXPECT_EQ(Errno(fs().GetAttr(file.ino())), "ENOENT");
}

TEST_P(MemFsTest, ForgetCountsEveryLookup) {
  Entry file = MakeFile(kRootIno, "f");
  ASSERT_TRUE(fs().Lookup(kRootIno, "f").ok());
  ASSERT_TRUE(fs().Lookup(kRootIno, "f").ok());  // three lookups now
  ASSERT_EQ(Errno(fs().Unlink(kRootIno, "f")), "OK");
  ASSERT_TRUE(fs().Forget(file.ino(), 2).ok());
  EXPECT_EQ(Errno(fs().GetAttr(file.ino())), "OK");
  ASSERT_TRUE(fs().Forget(file.ino(), 1).ok());
  EXPECT_EQ(Errno(fs().GetAttr(file.ino())), "ENOENT");
}

TEST_P(MemFsTest, ForgetOfUnknownInodesAndOfTheRootIsHarmless) {
  EXPECT_TRUE(fs().Forget(999999, 5).ok());
  EXPECT_TRUE(fs().Forget(kRootIno, 1000).ok());
  EXPECT_EQ(Errno(fs().GetAttr(kRootIno)), "OK");
}

TEST_P(MemFsTest, GetAttrOfTheRoot) {
  Attr root = Ok(fs().GetAttr(kRootIno));
  EXPECT_EQ(root.ino(), kRootIno);
  EXPECT_EQ(root.mode(), S_IFDIR | 0755u);
  EXPECT_EQ(root.nlink(), 2u);
  EXPECT_EQ(root.uid(), getuid());
}

TEST_P(MemFsTest, GetAttrOfAnUnknownInodeIsEnoent) {
  EXPECT_EQ(Errno(fs().GetAttr(424242)), "ENOENT");
}

// --- SetAttr ---

SetAttrRequest Change(uint64_t ino, uint32_t valid) {
  SetAttrRequest request;
  request.set_ino(ino);
  request.set_valid(valid);
  return request;
}

TEST_P(MemFsTest, SetAttrChangesMode) {
  Entry file = MakeFile(kRootIno, "f");
  SetAttrRequest request = Change(file.ino(), SET_ATTR_MODE);
  request.set_mode(0600);
  EXPECT_EQ(Ok(fs().SetAttr(request)).mode(), S_IFREG | 0600u);
}

TEST_P(MemFsTest, SetAttrModeKeepsTheFileType) {
  Entry dir = MakeDir(kRootIno, "d");
  SetAttrRequest request = Change(dir.ino(), SET_ATTR_MODE);
  request.set_mode(S_IFREG | 0700);
  EXPECT_EQ(Ok(fs().SetAttr(request)).mode(), S_IFDIR | 0700u);
}

TEST_P(MemFsTest, SetAttrTruncatesAFile) {
  Entry file = MakeFile(kRootIno, "f", Pattern(300000));
  SetAttrRequest request = Change(file.ino(), SET_ATTR_SIZE);
  request.set_size(70000);
  EXPECT_EQ(Ok(fs().SetAttr(request)).size(), 70000u);
  EXPECT_EQ(Contents(file.ino()), Pattern(70000));
}

TEST_P(MemFsTest, SetAttrExtendsAFileWithZeros) {
  Entry file = MakeFile(kRootIno, "f", "abc");
  SetAttrRequest request = Change(file.ino(), SET_ATTR_SIZE);
  request.set_size(200000);
  Attr attr = Ok(fs().SetAttr(request));
  EXPECT_EQ(attr.size(), 200000u);
  EXPECT_EQ(Contents(file.ino()), "abc" + std::string(200000 - 3, '\0'));
}

TEST_P(MemFsTest, ShrinkThenExtendDoesNotResurrectOldBytes) {
  Entry file = MakeFile(kRootIno, "f", Pattern(1000));
  SetAttrRequest shrink = Change(file.ino(), SET_ATTR_SIZE);
  shrink.set_size(10);
  ASSERT_TRUE(fs().SetAttr(shrink).ok());
  SetAttrRequest extend = Change(file.ino(), SET_ATTR_SIZE);
  extend.set_size(1000);
  ASSERT_TRUE(fs().SetAttr(extend).ok());
  EXPECT_EQ(Contents(file.ino()), Pattern(10) + std::string(990, '\0'));
}

TEST_P(MemFsTest, SetAttrSizeOfADirectoryIsEisdir) {
  Entry dir = MakeDir(kRootIno, "d");
  SetAttrRequest request = Change(dir.ino(), SET_ATTR_SIZE);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EISDIR");
}

TEST_P(MemFsTest, SetAttrSizeOfASymlinkIsEinval) {
  Entry link = Ok(fs().Symlink(kRootIno, "l", "target"));
  EXPECT_EQ(Errno(fs().SetAttr(Change(link.ino(), SET_ATTR_SIZE))), "EINVAL");
}

TEST_P(MemFsTest, SetAttrSizePastTheLargestFileIsEfbig) {
  Entry file = MakeFile(kRootIno, "f");
  SetAttrRequest request = Change(file.ino(), SET_ATTR_SIZE);
  request.set_size(uint64_t{1} << 41);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EFBIG");
}

TEST_P(MemFsTest, SetAttrWithAnUnknownBitIsEinval) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().SetAttr(Change(file.ino(), 1u << 20))), "EINVAL");
}

TEST_P(MemFsTest, SetAttrSetsTimes) {
  Entry file = MakeFile(kRootIno, "f");
  SetAttrRequest request = Change(file.ino(), SET_ATTR_ATIME | SET_ATTR_MTIME);
  request.set_atime_ns(1'000'000'007);
  request.set_mtime_ns(2'000'000'011);
  Attr attr = Ok(fs().SetAttr(request));
  EXPECT_EQ(attr.atime_ns(), 1'000'000'007);
  EXPECT_EQ(attr.mtime_ns(), 2'000'000'011);
  EXPECT_GT(attr.ctime_ns(), 2'000'000'011);
}

TEST_P(MemFsTest, SetAttrTimesNowUseTheServersClock) {
  Entry file = MakeFile(kRootIno, "f");
  SetAttrRequest request = Change(file.ino(), SET_ATTR_ATIME | SET_ATTR_ATIME_NOW);
  request.set_atime_ns(5);  // ignored
  Attr attr = Ok(fs().SetAttr(request));
  EXPECT_GE(attr.atime_ns(), file.attr().ctime_ns());
}

TEST_P(MemFsTest, SetAttrOfAnUnknownInodeIsEnoent) {
  EXPECT_EQ(Errno(fs().SetAttr(Change(777777, SET_ATTR_MODE))), "ENOENT");
}

// --- Mkdir, Mknod, Symlink, ReadLink ---

TEST_P(MemFsTest, MkdirCountsTheNewDirectoryInTheParentsLinks) {
  Entry d = MakeDir(kRootIno, "d", 0750);
  EXPECT_EQ(d.attr().mode(), S_IFDIR | 0750u);
  EXPECT_EQ(d.attr().nlink(), 2u);
  EXPECT_EQ(d.attr().uid(), getuid());
  EXPECT_EQ(Ok(fs().GetAttr(kRootIno)).nlink(), 3u);
}

TEST_P(MemFsTest, MkdirOfAnExistingNameIsEexist) {
  MakeDir(kRootIno, "d");
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "d", 0755)), "EEXIST");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "f", 0755)), "EEXIST");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, ".", 0755)), "EEXIST");
  EXPECT_EQ(Errno(fs().Mkdir(kRootIno, "..", 0755)), "EEXIST");
}

TEST_P(MemFsTest, MkdirInAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Mkdir(file.ino(), "d", 0755)), "ENOTDIR");
}

TEST_P(MemFsTest, MkdirInARemovedDirectoryIsEnoent) {
  Entry d = MakeDir(kRootIno, "d");  // its lookup keeps it
  ASSERT_EQ(Errno(fs().Rmdir(kRootIno, "d")), "OK");
  EXPECT_EQ(Errno(fs().Mkdir(d.ino(), "x", 0755)), "ENOENT");
}

TEST_P(MemFsTest, MknodMakesAFifo) {
  Entry fifo = Ok(fs().Mknod(kRootIno, "p", S_IFIFO | 0640));
  EXPECT_EQ(fifo.attr().mode(), S_IFIFO | 0640u);
}

TEST_P(MemFsTest, MknodWithoutATypeMakesARegularFile) {
  Entry file = Ok(fs().Mknod(kRootIno, "f", 0600));
  EXPECT_EQ(file.attr().mode(), S_IFREG | 0600u);
  EXPECT_EQ(file.attr().size(), 0u);
}

TEST_P(MemFsTest, MknodOfADirectoryOrSymlinkIsEinval) {
  EXPECT_EQ(Errno(fs().Mknod(kRootIno, "d", S_IFDIR | 0755)), "EINVAL");
  EXPECT_EQ(Errno(fs().Mknod(kRootIno, "l", S_IFLNK | 0777)), "EINVAL");
  EXPECT_EQ(Errno(fs().Mknod(kRootIno, "x", 0170000 | 0644)), "EINVAL");
}

TEST_P(MemFsTest, MknodOfADeviceByRootKeepsItsNumber) {
  if (in_process() && getuid() != 0) GTEST_SKIP() << "needs a root caller";
  std::unique_ptr<FsClient> root = in_process() ? Connect() : ConnectAs(0, 0);
  Entry dev = Ok(root->Mknod(kRootIno, "null", S_IFCHR | 0666, makedev(1, 3)));
  EXPECT_EQ(dev.attr().mode(), S_IFCHR | 0666u);
  EXPECT_EQ(dev.attr().rdev(), makedev(1, 3));
}

TEST_P(MemFsTest, SymlinkKeepsItsTarget) {
  Entry link = Ok(fs().Symlink(kRootIno, "l", "../some/where"));
  EXPECT_EQ(link.attr().mode(), S_IFLNK | 0777u);
  EXPECT_EQ(link.attr().size(), 13u);
  EXPECT_EQ(Ok(fs().ReadLink(link.ino())), "../some/where");
}

TEST_P(MemFsTest, SymlinkWithAnEmptyTargetIsEnoent) {
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "l", "")), "ENOENT");
}

TEST_P(MemFsTest, SymlinkTargetOver4095BytesIsEnametoolong) {
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "l", std::string(4096, 't'))), "ENAMETOOLONG");
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "l", std::string(4095, 't'))), "OK");
}

TEST_P(MemFsTest, SymlinkOverAnExistingNameIsEexist) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Symlink(kRootIno, "f", "x")), "EEXIST");
}

TEST_P(MemFsTest, ReadLinkOfAFileIsEinval) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().ReadLink(file.ino())), "EINVAL");
  EXPECT_EQ(Errno(fs().ReadLink(9999999)), "ENOENT");
}

// --- Link, Unlink, Rmdir ---

TEST_P(MemFsTest, HardLinkSharesTheInodeAndCountsLinks) {
  Entry file = MakeFile(kRootIno, "f", "shared");
  Entry d = MakeDir(kRootIno, "d");
  Entry link = Ok(fs().Link(file.ino(), d.ino(), "g"));
  EXPECT_EQ(link.ino(), file.ino());
  EXPECT_EQ(link.attr().nlink(), 2u);
  EXPECT_EQ(Ok(fs().Lookup(d.ino(), "g")).ino(), file.ino());
  ASSERT_EQ(Errno(fs().Unlink(kRootIno, "f")), "OK");
  EXPECT_EQ(Ok(fs().GetAttr(file.ino())).nlink(), 1u);
  EXPECT_EQ(Contents(file.ino()), "shared");
}

TEST_P(MemFsTest, HardLinkToADirectoryIsEperm) {
  Entry d = MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Link(d.ino(), kRootIno, "e")), "EPERM");
}

TEST_P(MemFsTest, HardLinkOverAnExistingNameIsEexist) {
  Entry file = MakeFile(kRootIno, "f");
  MakeFile(kRootIno, "g");
  EXPECT_EQ(Errno(fs().Link(file.ino(), kRootIno, "g")), "EEXIST");
}

TEST_P(MemFsTest, HardLinkToAnUnlinkedFileIsEnoent) {
  Entry file = MakeFile(kRootIno, "f");
  ASSERT_EQ(Errno(fs().Unlink(kRootIno, "f")), "OK");
  EXPECT_EQ(Errno(fs().Link(file.ino(), kRootIno, "again")), "ENOENT");
}

TEST_P(MemFsTest, UnlinkRemovesTheName) {
  MakeFile(kRootIno, "f");
  ASSERT_EQ(Errno(fs().Unlink(kRootIno, "f")), "OK");
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, "f")), "ENOENT");
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, "f")), "ENOENT");
}

TEST_P(MemFsTest, UnlinkOfADirectoryIsEisdir) {
  MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, "d")), "EISDIR");
  EXPECT_EQ(Errno(fs().Unlink(kRootIno, ".")), "EISDIR");
}

TEST_P(MemFsTest, UnlinkInAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Unlink(file.ino(), "x")), "ENOTDIR");
}

TEST_P(MemFsTest, RmdirRemovesAnEmptyDirectory) {
  MakeDir(kRootIno, "d");
  ASSERT_EQ(Errno(fs().Rmdir(kRootIno, "d")), "OK");
  EXPECT_EQ(Errno(fs().Lookup(kRootIno, "d")), "ENOENT");
  EXPECT_EQ(Ok(fs().GetAttr(kRootIno)).nlink(), 2u);
}

TEST_P(MemFsTest, RmdirOfANonEmptyDirectoryIsEnotempty) {
  Entry d = MakeDir(kRootIno, "d");
  MakeFile(d.ino(), "f");
  EXPECT_EQ(Errno(fs().Rmdir(kRootIno, "d")), "ENOTEMPTY");
}

TEST_P(MemFsTest, RmdirOfAFileIsEnotdir) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Rmdir(kRootIno, "f")), "ENOTDIR");
}

TEST_P(MemFsTest, RmdirOfDotsAndMissingNames) {
  Entry d = MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Rmdir(d.ino(), ".")), "EINVAL");
  EXPECT_EQ(Errno(fs().Rmdir(d.ino(), "..")), "ENOTEMPTY");
  EXPECT_EQ(Errno(fs().Rmdir(d.ino(), "nothing")), "ENOENT");
}

// --- Rename ---

TEST_P(MemFsTest, RenameMovesAFileBetweenDirectories) {
  Entry a = MakeDir(kRootIno, "a");
  Entry b = MakeDir(kRootIno, "b");
  Entry file = MakeFile(a.ino(), "f", "moved");
  ASSERT_EQ(Errno(fs().Rename(a.ino(), "f", b.ino(), "g")), "OK");
  EXPECT_EQ(Errno(fs().Lookup(a.ino(), "f")), "ENOENT");
  EXPECT_EQ(Ok(fs().Lookup(b.ino(), "g")).ino(), file.ino());
}

TEST_P(MemFsTest, RenameReplacesAFile) {
  MakeFile(kRootIno, "f", "new");
  Entry old_file = MakeFile(kRootIno, "g", "old");
  ASSERT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g")), "OK");
  EXPECT_EQ(Contents(Ok(fs().Lookup(kRootIno, "g")).ino()), "new");
  EXPECT_EQ(Ok(fs().GetAttr(old_file.ino())).nlink(), 0u);  // our lookup keeps it
}

TEST_P(MemFsTest, RenameMovesADirectoryAndItsDotDot) {
  Entry a = MakeDir(kRootIno, "a");
  Entry b = MakeDir(kRootIno, "b");
  Entry d = MakeDir(a.ino(), "d");
  ASSERT_EQ(Errno(fs().Rename(a.ino(), "d", b.ino(), "d")), "OK");
  EXPECT_EQ(Ok(fs().Lookup(d.ino(), "..")).ino(), b.ino());
  EXPECT_EQ(Ok(fs().GetAttr(a.ino())).nlink(), 2u);
  EXPECT_EQ(Ok(fs().GetAttr(b.ino())).nlink(), 3u);
}

TEST_P(MemFsTest, RenameNoReplaceOverAnExistingNameIsEexist) {
  MakeFile(kRootIno, "f", "one");
  MakeFile(kRootIno, "g", "two");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g", RENAME_FLAG_NOREPLACE)), "EEXIST");
  EXPECT_EQ(Contents(Ok(fs().Lookup(kRootIno, "g")).ino()), "two");
}

TEST_P(MemFsTest, RenameNoReplaceToAFreeName) {
  MakeFile(kRootIno, "f", "one");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "h", RENAME_FLAG_NOREPLACE)), "OK");
}

TEST_P(MemFsTest, RenameExchangeSwapsTwoFiles) {
  Entry f = MakeFile(kRootIno, "f", "one");
  Entry g = MakeFile(kRootIno, "g", "two");
  ASSERT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g", RENAME_FLAG_EXCHANGE)), "OK");
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "f")).ino(), g.ino());
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "g")).ino(), f.ino());
}

TEST_P(MemFsTest, RenameExchangeOfADirectoryAndAFileAcrossParents) {
  Entry a = MakeDir(kRootIno, "a");
  Entry b = MakeDir(kRootIno, "b");
  Entry d = MakeDir(a.ino(), "d");
  Entry f = MakeFile(b.ino(), "f");
  ASSERT_EQ(Errno(fs().Rename(a.ino(), "d", b.ino(), "f", RENAME_FLAG_EXCHANGE)), "OK");
  EXPECT_EQ(Ok(fs().Lookup(a.ino(), "d")).ino(), f.ino());
  EXPECT_EQ(Ok(fs().Lookup(b.ino(), "f")).ino(), d.ino());
  EXPECT_EQ(Ok(fs().Lookup(d.ino(), "..")).ino(), b.ino());
  EXPECT_EQ(Ok(fs().GetAttr(a.ino())).nlink(), 2u);
  EXPECT_EQ(Ok(fs().GetAttr(b.ino())).nlink(), 3u);
}

TEST_P(MemFsTest, RenameExchangeWithAMissingTargetIsEnoent) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g", RENAME_FLAG_EXCHANGE)), "ENOENT");
}

TEST_P(MemFsTest, RenameWithBothFlagsOrAnUnknownFlagIsEinval) {
  MakeFile(kRootIno, "f");
  MakeFile(kRootIno, "g");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g",
                              RENAME_FLAG_NOREPLACE | RENAME_FLAG_EXCHANGE)),
            "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g", 4)), "EINVAL");
}

TEST_P(MemFsTest, RenameOfAMissingNameIsEnoent) {
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "none", kRootIno, "g")), "ENOENT");
}

TEST_P(MemFsTest, RenameOfADirectoryIntoItselfIsEinval) {
  Entry a = MakeDir(kRootIno, "a");
  Entry b = MakeDir(a.ino(), "b");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", b.ino(), "a")), "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", a.ino(), "a")), "EINVAL");
}

TEST_P(MemFsTest, RenameExchangeOfADirectoryWithItsOwnDescendantIsEinval) {
  Entry a = MakeDir(kRootIno, "a");
  MakeFile(a.ino(), "f");
  EXPECT_EQ(Errno(fs().Rename(a.ino(), "f", kRootIno, "a", RENAME_FLAG_EXCHANGE)), "EINVAL");
}

TEST_P(MemFsTest, RenameOfADirectoryOverANonEmptyDirectoryIsEnotempty) {
  MakeDir(kRootIno, "a");
  Entry b = MakeDir(kRootIno, "b");
  MakeFile(b.ino(), "f");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "b")), "ENOTEMPTY");
}

TEST_P(MemFsTest, RenameOfADirectoryOverAnEmptyDirectoryReplacesIt) {
  Entry a = MakeDir(kRootIno, "a");
  MakeDir(kRootIno, "b");
  ASSERT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "b")), "OK");
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "b")).ino(), a.ino());
  EXPECT_EQ(Ok(fs().GetAttr(kRootIno)).nlink(), 3u);
}

TEST_P(MemFsTest, RenameOfADirectoryOverAFileIsEnotdir) {
  MakeDir(kRootIno, "a");
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "a", kRootIno, "f")), "ENOTDIR");
}

TEST_P(MemFsTest, RenameOfAFileOverADirectoryIsEisdir) {
  MakeDir(kRootIno, "a");
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "a")), "EISDIR");
}

TEST_P(MemFsTest, RenameOntoAnotherNameOfTheSameInodeDoesNothing) {
  Entry f = MakeFile(kRootIno, "f");
  ASSERT_TRUE(fs().Link(f.ino(), kRootIno, "g").ok());
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, "g")), "OK");
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "f")).ino(), f.ino());
  EXPECT_EQ(Ok(fs().GetAttr(f.ino())).nlink(), 2u);
}

TEST_P(MemFsTest, RenameOfDotsIsEinval) {
  Entry d = MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Rename(d.ino(), ".", kRootIno, "x")), "EINVAL");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "d", d.ino(), "..")), "EINVAL");
}

TEST_P(MemFsTest, RenameWithALongNameIsEnametoolong) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Rename(kRootIno, "f", kRootIno, std::string(256, 'x'))), "ENAMETOOLONG");
}

TEST_P(MemFsTest, ErrorsNameTheOperationAndTheErrno) {
  absl::Status status = fs().Lookup(kRootIno, "nothing").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("lookup \"nothing\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr("ENOENT"));
}

INSTANTIATE_TEST_SUITE_P(Transports, MemFsTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
