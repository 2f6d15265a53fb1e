// MemFs's read-ahead on every transport: a Read answered from the piece read ahead after
// the last one must give the file's bytes as they are when it is answered, whatever
// changed them in between (a write on the same link or another, a truncation), and never
// outlive the handle it was read through. Only a link served by its own thread reads
// ahead (read_ahead_hits() counts the Reads it answered); the in-process and worker
// transports must give the same answers without.

#include <fcntl.h>

#include <cstring>
#include <string>
#include <vector>

#include "examples/fs/memfs_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

constexpr size_t kPiece = kMaxIoSize;

std::string AsString(const rpc::Attachment& attachment) {
  return std::string(reinterpret_cast<const char*>(attachment.data().data()), attachment.size());
}

class MemFsReadAheadTest : public MemFsTest {
 protected:
  // A file of three pieces and a bit, open for reading and writing.
  void SetUp() override {
    MemFsTest::SetUp();
    file_ = MakeFile(kRootIno, "f", Pattern(3 * kPiece + 100, 1));
    fh_ = Ok(fs().Open(ino(), O_RDWR));
  }
  uint64_t ino() const { return file_.ino(); }
  bool reads_ahead() const { return GetParam() == Transport::kLink; }
  uint64_t hits() const { return memfs_->read_ahead_hits(); }

  std::string ReadPiece(FsClient& client, uint64_t fh, size_t index) {
    return AsString(Ok(client.Read(ino(), fh, index * kPiece, kPiece)));
  }
  // Returns once the server has done what it does after answering the last call of `fs()`:
  // a link's calls are served one after another, after-reply work included.
  void AwaitServer() { (void)Ok(fs().GetAttr(ino())); }
  void WritePiece(FsClient& client, uint64_t fh, size_t index, const std::string& bytes) {
    ASSERT_EQ(Errno(client.WriteFully(ino(), fh, index * kPiece, std::as_bytes(std::span(bytes)))),
              "OK");
  }

  Entry file_;
  uint64_t fh_ = 0;
};

TEST_P(MemFsReadAheadTest, SequentialReadsGiveEachPieceAndAShortLastOne) {
  const std::string bytes = Pattern(3 * kPiece + 100, 1);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(ReadPiece(fs(), fh_, i) == bytes.substr(i * kPiece, kPiece)) << i;
  }
  EXPECT_EQ(ReadPiece(fs(), fh_, 3), bytes.substr(3 * kPiece));
  EXPECT_EQ(AsString(Ok(fs().Read(ino(), fh_, 3 * kPiece + 100, kPiece))), "") << "the end";
  // The pieces after the first were read ahead; nothing was past the short one.
  EXPECT_EQ(hits(), reads_ahead() ? 3u : 0u);
  EXPECT_TRUE(ReadPiece(fs(), fh_, 0) == bytes.substr(0, kPiece)) << "again from the start";
}

TEST_P(MemFsReadAheadTest, AWriteOnTheSameLinkIsSeenByTheNextRead) {
  (void)ReadPiece(fs(), fh_, 0);  // the server reads piece 1 ahead
  const std::string fresh = Pattern(kPiece, 2);
  WritePiece(fs(), fh_, 1, fresh);
  EXPECT_TRUE(ReadPiece(fs(), fh_, 1) == fresh);
  EXPECT_EQ(hits(), 0u) << "the piece read ahead was older than the write";
  EXPECT_TRUE(ReadPiece(fs(), fh_, 2) == Pattern(3 * kPiece + 100, 1).substr(2 * kPiece, kPiece));
  EXPECT_EQ(hits(), reads_ahead() ? 1u : 0u) << "reading on, the next piece was read ahead";
}

TEST_P(MemFsReadAheadTest, AWriteFromAnotherClientIsSeenByTheNextRead) {
  std::unique_ptr<FsClient> other = Connect();
  ASSERT_NE(other, nullptr);
  uint64_t other_fh = Ok(other->Open(ino(), O_WRONLY));
  (void)ReadPiece(fs(), fh_, 0);
  AwaitServer();  // piece 1 is now read ahead, before the other client writes it
  const std::string fresh = Pattern(kPiece, 3);
  WritePiece(*other, other_fh, 1, fresh);
  EXPECT_TRUE(ReadPiece(fs(), fh_, 1) == fresh);
  EXPECT_EQ(hits(), 0u);
}

TEST_P(MemFsReadAheadTest, ATruncationIsSeenByTheNextRead) {
  (void)ReadPiece(fs(), fh_, 0);
  AwaitServer();
  SetAttrRequest truncate;
  truncate.set_ino(ino());
  truncate.set_valid(SET_ATTR_SIZE);
  truncate.set_size(kPiece + 10);
  ASSERT_EQ(Ok(fs().SetAttr(truncate)).size(), kPiece + 10);
  EXPECT_EQ(ReadPiece(fs(), fh_, 1), Pattern(3 * kPiece + 100, 1).substr(kPiece, 10));
  EXPECT_EQ(hits(), 0u);
}

TEST_P(MemFsReadAheadTest, AReleasedHandleIsEbadfThoughItsNextPieceWasReadAhead) {
  (void)ReadPiece(fs(), fh_, 0);
  AwaitServer();
  ASSERT_EQ(Errno(fs().Release(ino(), fh_)), "OK");
  EXPECT_EQ(Errno(fs().Read(ino(), fh_, kPiece, kPiece)), "EBADF");
}

TEST_P(MemFsReadAheadTest, ReadsOutOfOrderAndOfOtherSizesGetTheirOwnBytes) {
  const std::string bytes = Pattern(3 * kPiece + 100, 1);
  (void)ReadPiece(fs(), fh_, 0);
  EXPECT_TRUE(ReadPiece(fs(), fh_, 2) == bytes.substr(2 * kPiece, kPiece));
  EXPECT_EQ(AsString(Ok(fs().Read(ino(), fh_, 3 * kPiece, 50))), bytes.substr(3 * kPiece, 50));
  EXPECT_TRUE(ReadPiece(fs(), fh_, 1) == bytes.substr(kPiece, kPiece));
  uint64_t second = Ok(fs().Open(ino(), O_RDONLY));
  (void)ReadPiece(fs(), fh_, 0);  // piece 1 read ahead through fh_ ...
  EXPECT_TRUE(ReadPiece(fs(), second, 1) == bytes.substr(kPiece, kPiece));  // ... asked via another
  EXPECT_EQ(hits(), 0u) << "no Read asked for the piece read ahead as it was read";
}

// The piece read ahead takes a buffer of the link's arena (4 MiB: 32 pieces). A caller
// holding all the others still gets its ReadDir answered: the piece gives its buffer up.
TEST_P(MemFsReadAheadTest, APieceReadAheadGivesItsBufferUpToAnotherReply) {
  constexpr size_t kArenaPieces = 32;
  const std::string bytes = Pattern(kArenaPieces * kPiece, 4);
  Entry big = MakeFile(kRootIno, "big", bytes);
  uint64_t fh = Ok(fs().Open(big.ino(), O_RDONLY));
  std::vector<rpc::Attachment> held;
  for (size_t i = 0; i + 1 < kArenaPieces; ++i) {
    held.push_back(Ok(fs().Read(big.ino(), fh, i * kPiece, kPiece)));
  }
  AwaitServer();  // the last piece is read ahead into the arena's last 128 KiB
  EXPECT_THAT(Names(kRootIno), ::testing::UnorderedElementsAre("big", "f"));
  EXPECT_TRUE(AsString(Ok(fs().Read(big.ino(), fh, (kArenaPieces - 1) * kPiece, kPiece))) ==
              bytes.substr((kArenaPieces - 1) * kPiece));
}

INSTANTIATE_TEST_SUITE_P(Transports, MemFsReadAheadTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
