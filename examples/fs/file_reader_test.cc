// FileReader on every transport: whole files of every size around the 128 KiB piece,
// buffers smaller and larger than a piece, depths 0 to 4, the end of the file, errors
// (and the bytes before one), and a server gone with pieces outstanding.

#include "examples/fs/file_reader.h"

#include <fcntl.h>

#include <string>
#include <vector>

#include "examples/fs/memfs_testing.h"
#include "gtest/gtest.h"
#include "syslink/status.h"

namespace syslink::examples::fs {
namespace {

// Everything `reader` returns, `chunk` bytes per Read; fails the test on an error, and on
// bytes after a short read (only the end may be short).
std::string ReadAll(FileReader& reader, size_t chunk) {
  std::string all;
  std::vector<std::byte> buffer(chunk);
  bool was_short = false;
  for (;;) {
    absl::StatusOr<size_t> n = reader.Read(buffer);
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) return all;
    EXPECT_FALSE(was_short) << "bytes after a short read, at " << all.size();
    was_short = *n < chunk;
    all.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
}

TEST_P(MemFsTest, FileReaderReturnsEveryByteInOrder) {
  constexpr size_t kPiece = kMaxIoSize;
  for (size_t size : {size_t{0}, size_t{1}, kPiece - 1, kPiece, kPiece + 1, 3 * kPiece + 4097}) {
    const std::string contents = Pattern(size, static_cast<int>(size % 7));
    uint64_t ino = MakeFile(kRootIno, "f", contents).ino();
    for (int depth : {1, 2, 4}) {
      for (size_t chunk : {size_t{1000}, kPiece, 3 * kPiece}) {
        uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
        {
          FileReader reader(&fs(), ino, fh, 0, depth);
          EXPECT_EQ(ReadAll(reader, chunk), contents)
              << "size " << size << ", depth " << depth << ", chunk " << chunk;
        }
        EXPECT_TRUE(fs().Release(ino, fh).ok());
      }
    }
    ASSERT_TRUE(fs().Unlink(kRootIno, "f").ok());
  }
}

TEST_P(MemFsTest, FileReaderFillsEachBufferButTheLast) {
  const std::string contents = Pattern(2 * kMaxIoSize + 10);
  uint64_t ino = MakeFile(kRootIno, "f", contents).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  {
    FileReader reader(&fs(), ino, fh);
    std::vector<std::byte> buffer(kMaxIoSize - 3);  // pieces never line up with it
    EXPECT_EQ(Ok(reader.Read(buffer)), buffer.size());
    EXPECT_EQ(Ok(reader.Read(buffer)), buffer.size());
    EXPECT_EQ(Ok(reader.Read(buffer)), contents.size() - 2 * buffer.size());
    EXPECT_EQ(Ok(reader.Read(buffer)), 0u);
    EXPECT_EQ(Ok(reader.Read(buffer)), 0u);  // and stays at the end
  }
  EXPECT_TRUE(fs().Release(ino, fh).ok());
}

TEST_P(MemFsTest, FileReaderStartsAtTheOffsetGiven) {
  const std::string contents = Pattern(kMaxIoSize + 500);
  uint64_t ino = MakeFile(kRootIno, "f", contents).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  {
    FileReader reader(&fs(), ino, fh, 300);
    EXPECT_EQ(ReadAll(reader, 4096), contents.substr(300));
  }
  EXPECT_TRUE(fs().Release(ino, fh).ok());
}

TEST_P(MemFsTest, FileReaderFromTheEndOrPastItReadsNothing) {
  const std::string contents = Pattern(kMaxIoSize + 10);
  uint64_t ino = MakeFile(kRootIno, "f", contents).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  for (int64_t offset : {int64_t{kMaxIoSize} + 10, int64_t{5} * kMaxIoSize}) {
    FileReader reader(&fs(), ino, fh, offset);
    std::vector<std::byte> buffer(100);
    EXPECT_EQ(Ok(reader.Read(buffer)), 0u) << "from " << offset;
  }
  EXPECT_TRUE(fs().Release(ino, fh).ok());
}

TEST_P(MemFsTest, FileReaderOfDepthZeroReadsAsDepthOne) {
  const std::string contents = Pattern(2 * kMaxIoSize + 3);
  uint64_t ino = MakeFile(kRootIno, "f", contents).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  {
    FileReader reader(&fs(), ino, fh, 0, /*depth=*/0);
    EXPECT_EQ(ReadAll(reader, kMaxIoSize), contents);
  }
  EXPECT_TRUE(fs().Release(ino, fh).ok());
}

TEST_P(MemFsTest, FileReaderIntoAnEmptyBufferReturnsZeroAndGoesOn) {
  const std::string contents = Pattern(1000);
  uint64_t ino = MakeFile(kRootIno, "f", contents).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  {
    FileReader reader(&fs(), ino, fh);
    EXPECT_EQ(Ok(reader.Read({})), 0u);
    EXPECT_EQ(ReadAll(reader, 4096), contents);
  }
  EXPECT_TRUE(fs().Release(ino, fh).ok());
}

TEST_P(MemFsTest, FileReaderReturnsTheBytesBeforeAnErrorThenTheError) {
  if (GetParam() == Transport::kLinkWorkers) {
    GTEST_SKIP() << "a worker pool may answer the Release before the read sent ahead of it";
  }
  uint64_t ino = MakeFile(kRootIno, "f", Pattern(4 * kMaxIoSize)).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  FileReader reader(&fs(), ino, fh);
  std::vector<std::byte> buffer(2 * kMaxIoSize);
  // The first piece; the second is sent ahead, and answered before the Release.
  EXPECT_EQ(Ok(reader.Read(std::span(buffer).first(kMaxIoSize))), kMaxIoSize);
  ASSERT_TRUE(fs().Release(ino, fh).ok());
  // The second piece comes back whole; the third, sent after the Release, fails.
  EXPECT_EQ(Ok(reader.Read(buffer)), kMaxIoSize);
  EXPECT_EQ(Errno(reader.Read(buffer)), "EBADF");
  EXPECT_EQ(Errno(reader.Read(buffer)), "EBADF");
}

TEST_P(MemFsTest, FileReaderOfABadHandleIsEbadfAndStaysSo) {
  uint64_t ino = MakeFile(kRootIno, "f", Pattern(3 * kMaxIoSize)).ino();
  FileReader reader(&fs(), ino, /*fh=*/987654, 0, 3);
  std::vector<std::byte> buffer(100);
  EXPECT_EQ(Errno(reader.Read(buffer)), "EBADF");
  EXPECT_EQ(Errno(reader.Read(buffer)), "EBADF");
}

TEST_P(MemFsTest, FileReaderAfterTheServerIsGoneFailsWithEnotconn) {
  if (in_process()) GTEST_SKIP() << "an in-process server cannot go away";
  uint64_t ino = MakeFile(kRootIno, "f", Pattern(8 * kMaxIoSize)).ino();
  uint64_t fh = Ok(fs().Open(ino, O_RDONLY));
  FileReader reader(&fs(), ino, fh, 0, 4);
  std::vector<std::byte> buffer(kMaxIoSize);
  ASSERT_EQ(Ok(reader.Read(buffer)), buffer.size());  // three more reads are in flight
  server_->Shutdown();  // closes every link: the client sees its peer gone
  absl::Status status;
  for (int i = 0; i < 8 && status.ok(); ++i) status = reader.Read(buffer).status();
  EXPECT_TRUE(IsPeerDied(status)) << status;
  EXPECT_EQ(Errno(status), "ENOTCONN");
}  // the reader's destructor must not hang on the reads that were in flight

INSTANTIATE_TEST_SUITE_P(Transports, MemFsTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
