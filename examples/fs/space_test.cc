// Fallocate (allocate, keep size, punch a hole) and CopyFileRange (a copy made inside the
// server), through FsClient on every transport. Built against memfs (space_test) and the
// passthrough (passthrough_space_test, SPACE_TEST_PASSTHROUGH: the host filesystem's own
// fallocate and copy_file_range).

#include <fcntl.h>
#include <sys/stat.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

#ifdef SPACE_TEST_PASSTHROUGH
#include "examples/fs/passthrough/passthrough_testing.h"
#else
#include "examples/fs/memfs_testing.h"
#endif

namespace syslink::examples::fs {
namespace {

#ifdef SPACE_TEST_PASSTHROUGH
using Base = PassthroughTest;
#else
using Base = MemFsTest;
#endif

class SpaceTest : public Base {
 protected:
  // A file holding `contents`, open read-write.
  FsClient::Created File(const std::string& name, const std::string& contents = "") {
    FsClient::Created created = Ok(fs().Create(kRootIno, name, 0644, O_RDWR | O_EXCL));
    EXPECT_TRUE(
        fs().WriteFully(created.entry.ino(), created.fh, 0, std::as_bytes(std::span(contents)))
            .ok());
    return created;
  }
  Attr Stat(uint64_t ino) { return Ok(fs().GetAttr(ino)); }
  void Chmod(uint64_t ino, uint32_t mode) {
    SetAttrRequest request;
    request.set_ino(ino);
    request.set_valid(SET_ATTR_MODE);
    request.set_mode(mode);
    EXPECT_EQ(Ok(fs().SetAttr(request)).mode() & 07777, mode);
  }
};

// Handles are numbered at random: a client that counts from 1, or tries the numbers
// around its own, finds none of another client's (EBADF) and cannot touch its files.
TEST_P(SpaceTest, AnotherClientsHandlesCannotBeGuessed) {
  if (in_process()) GTEST_SKIP() << "one caller in process";
  FsClient::Created secret = File("secret", "kept");
  std::unique_ptr<FsClient> alice = ConnectAs(kAlice, kAlice);
  ASSERT_NE(alice, nullptr);
  const uint64_t own = Ok(alice->OpenDir(kRootIno));
  std::vector<uint64_t> guesses;
  for (uint64_t fh = 1; fh <= 1000; ++fh) guesses.push_back(fh);
  for (uint64_t step = 1; step <= 500; ++step) {
    guesses.push_back(own + step);
    guesses.push_back(own - step);
  }
  for (uint64_t fh : guesses) {
    if (fh == own || fh == 0) continue;
    ASSERT_EQ(Errno(alice->Fallocate(secret.entry.ino(), fh,
                                     FALLOCATE_PUNCH_HOLE | FALLOCATE_KEEP_SIZE, 0, 4)),
              "EBADF")
        << fh;
  }
  EXPECT_EQ(Contents(secret.entry.ino()), "kept");
  EXPECT_TRUE(alice->ReleaseDir(kRootIno, own).ok());
}

TEST_P(SpaceTest, AllocatingGrowsTheFileWithZeros) {
  FsClient::Created f = File("f");
  ASSERT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, FALLOCATE_ALLOCATE, 0, 300000)), "OK");
  const Attr attr = Stat(f.entry.ino());
  EXPECT_EQ(attr.size(), 300000u);
  EXPECT_GE(attr.blocks() * 512, 300000u);
  EXPECT_EQ(Contents(f.entry.ino()), std::string(300000, '\0'));
}

TEST_P(SpaceTest, KeepSizeAllocatesWithoutGrowing) {
  FsClient::Created f = File("f", "abc");
  ASSERT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, FALLOCATE_KEEP_SIZE, 0, 1 << 20)), "OK");
  const Attr attr = Stat(f.entry.ino());
  EXPECT_EQ(attr.size(), 3u);
  EXPECT_GE(attr.blocks() * 512, uint64_t{1} << 20);
  EXPECT_EQ(Contents(f.entry.ino()), "abc");
  // Writing into the allocated space past the end grows the file as usual.
  ASSERT_TRUE(fs().WriteFully(f.entry.ino(), f.fh, 10, std::as_bytes(std::span("xy", 2))).ok());
  EXPECT_EQ(Contents(f.entry.ino()), std::string("abc") + std::string(7, '\0') + "xy");
}

TEST_P(SpaceTest, PunchingAHoleZeroesTheRangeAndKeepsTheSize) {
  const std::string bytes = Pattern(400000);
  FsClient::Created f = File("f", bytes);
  const uint64_t blocks_before = Stat(f.entry.ino()).blocks();
  ASSERT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, FALLOCATE_PUNCH_HOLE | FALLOCATE_KEEP_SIZE,
                                 1000, 300000)),
            "OK");
  std::string want = bytes;
  want.replace(1000, 300000, std::string(300000, '\0'));
  EXPECT_EQ(Contents(f.entry.ino()) == want, true);
  const Attr attr = Stat(f.entry.ino());
  EXPECT_EQ(attr.size(), bytes.size());
  EXPECT_LT(attr.blocks(), blocks_before);
}

TEST_P(SpaceTest, OtherModesAreEopnotsupp) {
  FsClient::Created f = File("f", "abc");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, FALLOCATE_PUNCH_HOLE, 0, 1)), "EOPNOTSUPP");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, 0x10, 0, 1)), "EOPNOTSUPP");
}

TEST_P(SpaceTest, FallocateChecksItsHandleAndRange) {
  FsClient::Created f = File("f", "abc");
  const uint64_t reader = Ok(fs().Open(f.entry.ino(), O_RDONLY));
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), reader, 0, 0, 10)), "EBADF");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh + 1000, 0, 0, 10)), "EBADF");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, 0, -1, 10)), "EINVAL");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, 0, 0, 0)), "EINVAL");
}

// fallocate(2)'s order: the range and the mode are checked before the handle's access, and
// a range that ends past the largest file (or past INT64_MAX) is EFBIG, punched or not.
TEST_P(SpaceTest, FallocateChecksInTheSystemCallsOrder) {
  FsClient::Created f = File("f", "abc");
  const uint64_t reader = Ok(fs().Open(f.entry.ino(), O_RDONLY));
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), reader, 0, 0, 0)), "EINVAL");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), reader, FALLOCATE_PUNCH_HOLE, 0, 1)), "EOPNOTSUPP");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, FALLOCATE_PUNCH_HOLE | FALLOCATE_KEEP_SIZE,
                                 kMax, kMax)),
            "EFBIG");
  EXPECT_EQ(Errno(fs().Fallocate(f.entry.ino(), f.fh, FALLOCATE_KEEP_SIZE, kMax, kMax)), "EFBIG");
  EXPECT_EQ(Contents(f.entry.ino()), "abc");
}

// Fallocate changes a file as a write does: a caller other than root drops its set-user-ID
// bit, and its set-group-ID bit when the group may execute it (memfs itself; the
// passthrough, acting as the caller, by the host kernel's rule).
TEST_P(SpaceTest, FallocateByAnotherUserDropsSetIdBits) {
  if (in_process()) GTEST_SKIP() << "one caller in process";
  for (const uint32_t mode : {uint32_t{FALLOCATE_ALLOCATE}, uint32_t{FALLOCATE_KEEP_SIZE},
                              uint32_t{FALLOCATE_PUNCH_HOLE | FALLOCATE_KEEP_SIZE}}) {
    SCOPED_TRACE(mode);
    FsClient::Created f = File("f" + std::to_string(mode), "abc");
    Chmod(f.entry.ino(), 06777);
    std::unique_ptr<FsClient> alice = ConnectAs(kAlice, kAlice);
    ASSERT_NE(alice, nullptr);
    const uint64_t fh = Ok(alice->Open(f.entry.ino(), O_RDWR));
    ASSERT_EQ(Errno(alice->Fallocate(f.entry.ino(), fh, mode, 0, 8192)), "OK");
    EXPECT_EQ(Stat(f.entry.ino()).mode(), S_IFREG | 0777u);
    EXPECT_TRUE(alice->Release(f.entry.ino(), fh).ok());
  }
}

TEST_P(SpaceTest, FallocateByRootKeepsSetIdBits) {
  if (in_process()) GTEST_SKIP() << "one caller in process";
  FsClient::Created f = File("f", "abc");
  Chmod(f.entry.ino(), 06777);
  std::unique_ptr<FsClient> root = ConnectAs(0, 0);
  ASSERT_NE(root, nullptr);
  const uint64_t fh = Ok(root->Open(f.entry.ino(), O_RDWR));
  ASSERT_EQ(Errno(root->Fallocate(f.entry.ino(), fh, FALLOCATE_ALLOCATE, 0, 8192)), "OK");
  EXPECT_EQ(Stat(f.entry.ino()).mode(), S_IFREG | 06777u);
  EXPECT_TRUE(root->Release(f.entry.ino(), fh).ok());
}

// A Fallocate that fails changes nothing, set-ID bits included.
TEST_P(SpaceTest, AFailedFallocateKeepsSetIdBits) {
  if (in_process()) GTEST_SKIP() << "one caller in process";
  FsClient::Created f = File("f", "abc");
  Chmod(f.entry.ino(), 06777);
  std::unique_ptr<FsClient> alice = ConnectAs(kAlice, kAlice);
  ASSERT_NE(alice, nullptr);
  const uint64_t fh = Ok(alice->Open(f.entry.ino(), O_RDWR));
  EXPECT_EQ(Errno(alice->Fallocate(f.entry.ino(), fh, FALLOCATE_PUNCH_HOLE, 0, 1)), "EOPNOTSUPP");
  EXPECT_EQ(Stat(f.entry.ino()).mode(), S_IFREG | 06777u);
  EXPECT_TRUE(alice->Release(f.entry.ino(), fh).ok());
}

TEST_P(SpaceTest, CopyFileRangeCopiesInsideTheServer) {
  const std::string bytes = Pattern(3 * kMaxIoSize + 123);
  FsClient::Created in = File("in", bytes);
  FsClient::Created out = File("out", "prefix");
  absl::StatusOr<uint64_t> copied =
      fs().CopyFileRange(in.entry.ino(), in.fh, 0, out.entry.ino(), out.fh, 6, bytes.size());
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(*copied, bytes.size());
  EXPECT_EQ(Contents(out.entry.ino()) == "prefix" + bytes, true);
}

TEST_P(SpaceTest, CopyFileRangeStopsAtTheEndOfTheInput) {
  FsClient::Created in = File("in", "0123456789");
  FsClient::Created out = File("out");
  EXPECT_EQ(Ok(fs().CopyFileRange(in.entry.ino(), in.fh, 4, out.entry.ino(), out.fh, 0, 100)), 6u);
  EXPECT_EQ(Ok(fs().CopyFileRange(in.entry.ino(), in.fh, 10, out.entry.ino(), out.fh, 0, 100)), 0u);
  EXPECT_EQ(Contents(out.entry.ino()), "456789");
}

TEST_P(SpaceTest, CopyFileRangeChecksHandlesAndRanges) {
  FsClient::Created in = File("in", "0123456789");
  FsClient::Created out = File("out");
  const uint64_t reader = Ok(fs().Open(out.entry.ino(), O_RDONLY));
  EXPECT_EQ(Errno(fs().CopyFileRange(in.entry.ino(), in.fh, 0, out.entry.ino(), reader, 0, 5)),
            "EBADF");
  EXPECT_EQ(Errno(fs().CopyFileRange(in.entry.ino(), in.fh, -1, out.entry.ino(), out.fh, 0, 5)),
            "EINVAL");
  EXPECT_EQ(Errno(fs().CopyFileRange(in.entry.ino(), in.fh, 0, in.entry.ino(), in.fh, 2, 5)),
            "EINVAL");  // overlapping ranges of one file
  const uint64_t dir = Ok(fs().OpenDir(kRootIno));
  EXPECT_EQ(Errno(fs().CopyFileRange(kRootIno, dir, 0, out.entry.ino(), out.fh, 0, 5)), "EISDIR");
  EXPECT_EQ(Errno(fs().CopyFileRange(in.entry.ino(), in.fh, 0, kRootIno, dir, 0, 5)), "EBADF");
  EXPECT_TRUE(fs().ReleaseDir(kRootIno, dir).ok());
}

INSTANTIATE_TEST_SUITE_P(Transports, SpaceTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
