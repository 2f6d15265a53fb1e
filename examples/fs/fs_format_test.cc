// The ReadDir packing (fs_format.h) and the errno statuses (fs_status.h): round trips, the
// layout byte for byte, and corrupt input from a server.

#include "examples/fs/fs_format.h"

#include <dirent.h>
#include <errno.h>

#include <string>
#include <vector>

#include "examples/fs/fs_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/status.h"

namespace syslink::examples::fs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::byte> Encode(const std::vector<DirEntry>& entries, size_t room = 4096) {
  std::vector<std::byte> out(room);
  size_t used = 0;
  for (const DirEntry& e : entries) {
    EXPECT_TRUE(EncodeDirEntry(e.ino, e.next, e.type, e.name, out, &used));
  }
  out.resize(used);
  return out;
}

TEST(DirEntryTest, RoundTrip) {
  std::vector<DirEntry> entries = {{1, 1, DT_DIR, "."},
                                   {1, 2, DT_DIR, ".."},
                                   {42, 7, DT_REG, "file.txt"},
                                   {43, 8, DT_LNK, std::string(255, 'x')}};
  EXPECT_EQ(DecodeDirEntries(Encode(entries)).value(), entries);
}

TEST(DirEntryTest, LayoutIsFuseDirentLittleEndianPaddedTo8) {
  std::vector<std::byte> bytes = Encode({{0x0102030405060708, 0x1112131415161718, DT_REG, "abc"}});
  ASSERT_EQ(bytes.size(), 32u);
  const unsigned char expected[32] = {
      0x08,   0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // ino
      0x18,   0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  // next
      3,      0,    0,    0,                             // name length
      DT_REG, 0,    0,    0,                             // type
      'a',    'b',  'c',  0,    0,    0,    0,    0};    // name, padding
  EXPECT_EQ(std::memcmp(bytes.data(), expected, 32), 0);
}

TEST(DirEntryTest, SizesAreRoundedUpTo8) {
  EXPECT_EQ(DirEntrySize(1), 32u);
  EXPECT_EQ(DirEntrySize(8), 32u);
  EXPECT_EQ(DirEntrySize(9), 40u);
}

TEST(DirEntryTest, EncodeRefusesARecordThatDoesNotFitAndWritesNothing) {
  std::vector<std::byte> out(40, std::byte{0x55});
  size_t used = 0;
  EXPECT_TRUE(EncodeDirEntry(1, 1, DT_REG, "a", out, &used));
  EXPECT_FALSE(EncodeDirEntry(2, 2, DT_REG, "b", out, &used));
  EXPECT_EQ(used, 32u);
  EXPECT_EQ(out[32], std::byte{0x55});
}

TEST(DirEntryTest, EmptyBytesAreNoEntries) { EXPECT_TRUE(DecodeDirEntries({}).value().empty()); }

TEST(DirEntryTest, HeaderCutShortIsInvalid) {
  std::vector<std::byte> bytes = Encode({{5, 1, DT_REG, "name"}});
  bytes.resize(20);
  absl::Status status = DecodeDirEntries(bytes).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("header cut short"));
}

TEST(DirEntryTest, NameCutShortIsInvalid) {
  std::vector<std::byte> bytes = Encode({{5, 1, DT_REG, "a-longer-name"}});
  bytes.resize(bytes.size() - 8);
  EXPECT_THAT(std::string(DecodeDirEntries(bytes).status().message()),
              HasSubstr("record cut short"));
}

TEST(DirEntryTest, ZeroNameLengthIsInvalid) {
  std::vector<std::byte> bytes = Encode({{5, 1, DT_REG, "a"}});
  bytes[16] = std::byte{0};
  EXPECT_THAT(std::string(DecodeDirEntries(bytes).status().message()),
              HasSubstr("a name of 0 bytes"));
}

TEST(DirEntryTest, HugeNameLengthIsInvalidNotARead) {
  std::vector<std::byte> bytes = Encode({{5, 1, DT_REG, "a"}});
  bytes[19] = std::byte{0xff};  // 0xff000001 bytes
  EXPECT_EQ(DecodeDirEntries(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DirEntryTest, SlashOrNulInANameIsInvalid) {
  EXPECT_THAT(std::string(DecodeDirEntries(Encode({{5, 1, DT_REG, "a/b"}})).status().message()),
              HasSubstr("'/' or NUL"));
  EXPECT_FALSE(DecodeDirEntries(Encode({{5, 1, DT_REG, std::string("a\0b", 3)}})).ok());
}

TEST(DirEntryTest, NonZeroPaddingIsInvalid) {
  std::vector<std::byte> bytes = Encode({{5, 1, DT_REG, "a"}});
  bytes[31] = std::byte{1};
  EXPECT_THAT(std::string(DecodeDirEntries(bytes).status().message()),
              HasSubstr("non-zero padding"));
}

TEST(DirEntryTest, TheOffsetOfABadRecordIsNamed) {
  std::vector<std::byte> bytes = Encode({{5, 1, DT_REG, "a"}, {6, 2, DT_REG, "b"}});
  bytes[32 + 16] = std::byte{0};
  EXPECT_THAT(std::string(DecodeDirEntries(bytes).status().message()), HasSubstr("byte 32"));
}

TEST(ErrnoStatusTest, CarriesTheErrnoAndACanonicalCode) {
  absl::Status status = ErrnoError(ENOENT, "lookup \"x\"");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoOf(status), ENOENT);
  EXPECT_EQ(std::string(status.message()), "lookup \"x\": No such file or directory (ENOENT)");
}

TEST(ErrnoStatusTest, CodesForTheCommonErrnos) {
  EXPECT_EQ(CodeForErrno(EEXIST), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeForErrno(EACCES), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeForErrno(EPERM), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeForErrno(ENOTEMPTY), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeForErrno(ENAMETOOLONG), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeForErrno(ENOSPC), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeForErrno(EHWPOISON), absl::StatusCode::kUnknown);
}

TEST(ErrnoStatusTest, ErrnoZeroIsOk) {
  EXPECT_TRUE(ErrnoError(0, "anything").ok());
  EXPECT_EQ(ErrnoOf(absl::OkStatus()), 0);
}

TEST(ErrnoStatusTest, AnErrnoSurvivesBeingRewrapped) {
  absl::Status status = ErrnoError(EISDIR, "x");
  absl::Status copy = status;
  EXPECT_EQ(ErrnoOf(copy), EISDIR);
}

TEST(ErrnoStatusTest, RpcFailuresMapToTheDocumentedErrnos) {
  EXPECT_EQ(ErrnoOf(PeerDiedError("server gone")), ENOTCONN);
  EXPECT_EQ(ErrnoOf(absl::DeadlineExceededError("late")), ETIMEDOUT);
  EXPECT_EQ(ErrnoOf(absl::CancelledError("stop")), EINTR);
  EXPECT_EQ(ErrnoOf(absl::InvalidArgumentError("bad response")), EIO);
  EXPECT_EQ(ErrnoOf(BadMessageError("protocol")), EIO);
}

TEST(ErrnoStatusTest, AGarbledPayloadFallsBackToTheCode) {
  absl::Status status = absl::NotFoundError("x");
  status.SetPayload(kErrnoPayloadUrl, absl::Cord("not a number"));
  EXPECT_EQ(ErrnoOf(status), EIO);
}

TEST(ErrnoStatusTest, NamesErrnos) {
  EXPECT_EQ(ErrnoName(ENOTEMPTY), "ENOTEMPTY");
  EXPECT_EQ(ErrnoName(99999), "errno 99999");
}

}  // namespace
}  // namespace syslink::examples::fs
