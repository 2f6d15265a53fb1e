// FileData, BlockPool and the permission rules, and MemTree's limits (ENOSPC, EFBIG),
// tested directly.

#include "examples/fs/memfs_inode.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "examples/fs/fs_format.h"
#include "examples/fs/memfs_tree.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr size_t kBlock = FileData::kBlockSize;
constexpr uint64_t kNoLimit = ~uint64_t{0};

std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

std::string ReadAll(const FileData& data, uint64_t offset, size_t size) {
  std::string out(size, '?');
  out.resize(data.Read(offset, std::as_writable_bytes(std::span(out))));
  return out;
}

TEST(BlockPoolTest, TakeFailsWithoutTakingWhenTooFewAreFree) {
  BlockPool pool(3);
  EXPECT_TRUE(pool.Take(2));
  EXPECT_FALSE(pool.Take(2));
  EXPECT_EQ(pool.used(), 2u);
  pool.Give(2);
  EXPECT_TRUE(pool.Take(3));
}

TEST(FileDataTest, WriteThenReadBack) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Write(0, Bytes("hello"), pool, kNoLimit), 0);
  EXPECT_EQ(data.size(), 5u);
  EXPECT_EQ(ReadAll(data, 0, 100), "hello");
  EXPECT_EQ(ReadAll(data, 1, 3), "ell");
}

TEST(FileDataTest, GenerationChangesWithTheBytesOnly) {
  BlockPool pool(100);
  FileData data;
  const uint64_t empty = data.generation();
  ASSERT_EQ(data.Write(0, Bytes("hello"), pool, kNoLimit), 0);
  const uint64_t written = data.generation();
  EXPECT_NE(written, empty);
  (void)ReadAll(data, 0, 5);
  EXPECT_EQ(data.generation(), written) << "a read changes nothing";
  data.Truncate(2, pool);
  EXPECT_NE(data.generation(), written);
  const uint64_t truncated = data.generation();
  FileData moved = std::move(data);
  EXPECT_EQ(moved.generation(), truncated) << "the bytes keep their generation";
  EXPECT_NE(data.generation(), truncated) << "what is left behind is another file's";  // NOLINT
  FileData other;
  EXPECT_NE(other.generation(), empty) << "unique across files";
}

TEST(FileDataTest, ReadAtOrPastTheEndIsEmpty) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Write(0, Bytes("abc"), pool, kNoLimit), 0);
  EXPECT_EQ(ReadAll(data, 3, 10), "");
  EXPECT_EQ(ReadAll(data, 1000000, 10), "");
}

TEST(FileDataTest, WriteAcrossABlockBoundary) {
  BlockPool pool(100);
  FileData data;
  std::string bytes(kBlock + 100, 'z');
  ASSERT_EQ(data.Write(kBlock - 50, Bytes(bytes), pool, kNoLimit), 0);
  EXPECT_EQ(data.allocated_blocks(), 3u);
  EXPECT_EQ(ReadAll(data, kBlock - 50, bytes.size()), bytes);
  EXPECT_EQ(ReadAll(data, 0, 10), std::string(10, '\0'));
}

TEST(FileDataTest, HolesReadAsZerosAndTakeNoBlocks) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Write(10 * kBlock, Bytes("x"), pool, kNoLimit), 0);
  EXPECT_EQ(data.allocated_blocks(), 1u);
  EXPECT_EQ(pool.used(), 1u);
  EXPECT_EQ(ReadAll(data, 5 * kBlock, 4), std::string(4, '\0'));
}

TEST(FileDataTest, AllocateTakesBlocksAndGrowsUnlessKeepingTheSize) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Allocate(kBlock / 2, 2 * kBlock, /*keep_size=*/true, pool, kNoLimit), 0);
  EXPECT_EQ(data.size(), 0u);
  EXPECT_EQ(pool.used(), 3u);
  ASSERT_EQ(data.Allocate(0, 10, /*keep_size=*/false, pool, kNoLimit), 0);
  EXPECT_EQ(data.size(), 10u);
  EXPECT_EQ(pool.used(), 3u);  // those blocks were there
  EXPECT_EQ(ReadAll(data, 0, 100), std::string(10, '\0'));
}

TEST(FileDataTest, AllocateBeyondThePoolChangesNothing) {
  BlockPool pool(2);
  FileData data;
  EXPECT_EQ(data.Allocate(0, 3 * kBlock, /*keep_size=*/false, pool, kNoLimit), ENOSPC);
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(data.size(), 0u);
  EXPECT_EQ(data.Allocate(0, 100, /*keep_size=*/false, pool, /*max_size=*/99), EFBIG);
}

TEST(FileDataTest, PunchingAHoleZerosItAndGivesWholeBlocksBack) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Write(0, Bytes(std::string(4 * kBlock, 'a')), pool, kNoLimit), 0);
  const uint64_t generation = data.generation();
  data.PunchHole(kBlock / 2, 2 * kBlock, pool);  // half of block 0, all of 1, half of 2
  EXPECT_NE(data.generation(), generation);
  EXPECT_EQ(pool.used(), 3u);
  EXPECT_EQ(data.size(), 4 * kBlock);
  EXPECT_EQ(ReadAll(data, kBlock / 2 - 1, 2), std::string("a") + '\0');
  EXPECT_EQ(ReadAll(data, kBlock / 2 + 2 * kBlock - 1, 2), std::string(1, '\0') + "a");
  data.PunchHole(0, ~uint64_t{0}, pool);  // to the end of every offset
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(ReadAll(data, 0, 4 * kBlock), std::string(4 * kBlock, '\0'));
}

TEST(FileDataTest, TruncateDownGivesBlocksBackAndZerosTheTail) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Write(0, Bytes(std::string(3 * kBlock, 'a')), pool, kNoLimit), 0);
  data.Truncate(kBlock + 10, pool);
  EXPECT_EQ(pool.used(), 2u);
  data.Truncate(3 * kBlock, pool);
  EXPECT_EQ(ReadAll(data, kBlock, 20), std::string(10, 'a') + std::string(10, '\0'));
}

TEST(FileDataTest, TruncateUpAllocatesNothing) {
  BlockPool pool(100);
  FileData data;
  data.Truncate(uint64_t{1} << 40, pool);
  EXPECT_EQ(data.size(), uint64_t{1} << 40);
  EXPECT_EQ(pool.used(), 0u);
}

TEST(FileDataTest, ClearGivesEveryBlockBack) {
  BlockPool pool(100);
  FileData data;
  ASSERT_EQ(data.Write(0, Bytes(std::string(5 * kBlock, 'a')), pool, kNoLimit), 0);
  data.Clear(pool);
  EXPECT_EQ(pool.used(), 0u);
  EXPECT_EQ(data.size(), 0u);
}

TEST(FileDataTest, WriteWithoutRoomIsEnospcAndWritesNothing) {
  BlockPool pool(2);
  FileData data;
  EXPECT_EQ(data.Write(0, Bytes(std::string(3 * kBlock, 'a')), pool, kNoLimit), ENOSPC);
  EXPECT_EQ(data.size(), 0u);
  EXPECT_EQ(pool.used(), 0u);
}

TEST(FileDataTest, OverwriteNeedsNoNewBlocks) {
  BlockPool pool(1);
  FileData data;
  ASSERT_EQ(data.Write(0, Bytes(std::string(kBlock, 'a')), pool, kNoLimit), 0);
  EXPECT_EQ(data.Write(0, Bytes(std::string(kBlock, 'b')), pool, kNoLimit), 0);
}

TEST(FileDataTest, WritePastTheLargestFileIsEfbig) {
  BlockPool pool(100);
  FileData data;
  EXPECT_EQ(data.Write(1000, Bytes("abc"), pool, 1002), EFBIG);
  EXPECT_EQ(data.Write(~uint64_t{0} - 1, Bytes("abc"), pool, kNoLimit), EFBIG);
  EXPECT_EQ(data.Write(999, Bytes("abc"), pool, 1002), 0);
}

Inode FileOf(uid_t uid, gid_t gid, uint32_t mode) {
  Inode inode;
  inode.uid = uid;
  inode.gid = gid;
  inode.mode = mode;
  return inode;
}

TEST(MayAccessTest, OwnerUsesTheOwnerBitsOnly) {
  Inode file = FileOf(10, 20, S_IFREG | 0077);
  EXPECT_FALSE(MayAccess(file, {10, 20}, kMayRead));
}

TEST(MayAccessTest, GroupUsesTheGroupBits) {
  Inode file = FileOf(10, 20, S_IFREG | 0640);
  EXPECT_TRUE(MayAccess(file, {11, 20}, kMayRead));
  EXPECT_FALSE(MayAccess(file, {11, 20}, kMayWrite));
  EXPECT_FALSE(MayAccess(file, {11, 21}, kMayRead));
}

TEST(MayAccessTest, EveryBitOfTheMaskIsNeeded) {
  Inode dir = FileOf(10, 20, S_IFDIR | 0705);
  EXPECT_TRUE(MayAccess(dir, {30, 30}, kMayRead | kMayExec));
  EXPECT_FALSE(MayAccess(dir, {30, 30}, kMayWrite | kMayExec));
}

TEST(MayAccessTest, RootReadsAndWritesAnything) {
  Inode file = FileOf(10, 20, S_IFREG | 0000);
  EXPECT_TRUE(MayAccess(file, {0, 0}, kMayRead | kMayWrite));
}

TEST(MayAccessTest, RootExecutesOnlyWhatSomeoneMayExecute) {
  EXPECT_FALSE(MayAccess(FileOf(10, 20, S_IFREG | 0666), {0, 0}, kMayExec));
  EXPECT_TRUE(MayAccess(FileOf(10, 20, S_IFREG | 0001), {0, 0}, kMayExec));
  EXPECT_TRUE(MayAccess(FileOf(10, 20, S_IFDIR | 0000), {0, 0}, kMayExec));
}

TEST(MayDeleteTest, StickyDirectoryAllowsOnlyOwnersAndRoot) {
  Inode tmp = FileOf(0, 0, S_IFDIR | 01777);
  Inode file = FileOf(10, 10, S_IFREG | 0644);
  EXPECT_FALSE(MayDelete(tmp, file, {11, 11}));
  EXPECT_TRUE(MayDelete(tmp, file, {10, 10}));
  EXPECT_TRUE(MayDelete(tmp, file, {0, 0}));
  Inode plain = FileOf(0, 0, S_IFDIR | 0777);
  EXPECT_TRUE(MayDelete(plain, file, {11, 11}));
}

TEST(MemTreeLimitsTest, NoInodeLeftIsEnospc) {
  MemTree tree({.max_inodes = 3});
  Entry entry;
  ASSERT_EQ(tree.MakeNode({}, kRootIno, "a", S_IFREG | 0644, 0, "", &entry), 0);
  ASSERT_EQ(tree.MakeNode({}, kRootIno, "b", S_IFDIR | 0755, 0, "", &entry), 0);
  EXPECT_EQ(tree.MakeNode({}, kRootIno, "c", S_IFREG | 0644, 0, "", &entry), ENOSPC);
  uint64_t fh;
  EXPECT_EQ(tree.Create({}, kRootIno, "d", 0644, O_RDWR, /*owner=*/0, &entry, &fh), ENOSPC);
}

TEST(MemTreeLimitsTest, NoDataBlockLeftIsEnospc) {
  MemTree tree({.capacity_bytes = 2 * kBlock});
  Entry entry;
  uint64_t fh;
  ASSERT_EQ(tree.Create({}, kRootIno, "f", 0644, O_RDWR, /*owner=*/0, &entry, &fh), 0);
  std::string bytes(3 * kBlock, 'x');
  EXPECT_EQ(tree.Write({}, entry.ino(), fh, 0, Bytes(bytes)), ENOSPC);
  EXPECT_EQ(tree.Write({}, entry.ino(), fh, 0, Bytes(bytes.substr(0, 2 * kBlock))), 0);
  StatfsResponse statfs;
  tree.Statfs(&statfs);
  EXPECT_EQ(statfs.blocks_free(), 0u);
}

TEST(MemTreeLimitsTest, UnlinkingAFileGivesItsBlocksBack) {
  MemTree tree({.capacity_bytes = 2 * kBlock});
  Entry entry;
  uint64_t fh;
  ASSERT_EQ(tree.Create({}, kRootIno, "f", 0644, O_RDWR, /*owner=*/0, &entry, &fh), 0);
  ASSERT_EQ(tree.Write({}, entry.ino(), fh, 0, Bytes(std::string(2 * kBlock, 'x'))), 0);
  ASSERT_EQ(tree.Release(entry.ino(), fh), 0);
  ASSERT_EQ(tree.Unlink({}, kRootIno, "f"), 0);
  EXPECT_EQ(tree.used_blocks(), 2u);  // the lookup from Create still holds it
  tree.Forget(entry.ino(), 1);
  EXPECT_EQ(tree.used_blocks(), 0u);
}

TEST(MemTreeLimitsTest, WritePastTheLargestFileIsEfbig) {
  MemTree tree({.max_file_size = 1000});
  Entry entry;
  uint64_t fh;
  ASSERT_EQ(tree.Create({}, kRootIno, "f", 0644, O_RDWR, /*owner=*/0, &entry, &fh), 0);
  EXPECT_EQ(tree.Write({}, entry.ino(), fh, 999, Bytes("ab")), EFBIG);
}

TEST(CheckNameTest, AcceptsOrdinaryNamesAndRefusesTheRest) {
  EXPECT_EQ(CheckName("a"), 0);
  EXPECT_EQ(CheckName(std::string(255, 'a')), 0);
  EXPECT_EQ(CheckName(std::string(256, 'a')), ENAMETOOLONG);
  EXPECT_EQ(CheckName(""), EINVAL);
  EXPECT_EQ(CheckName("a/b"), EINVAL);
  EXPECT_EQ(CheckName(std::string("a\0", 2)), EINVAL);
}

}  // namespace
}  // namespace syslink::examples::fs
