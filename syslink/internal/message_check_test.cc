// Tests of CheckMessageShape(): one narrow case per rule, most of them hostile headers a
// peer could write into the ring. Every rejection must be BAD_MESSAGE (DATA_LOSS) and name
// the problem. Where a rule picks an arena (the sender's or the receiver's), the two
// arenas get different sizes so that a check against the wrong one shows.

#include "syslink/internal/message_check.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"

namespace syslink::internal {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPage = kDmaPageSize;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// The sender's arena (1 MiB) is four times the receiver's (256 KiB).
constexpr MessageLimits kSenderLarger{
    .sender_arena_size = 1024 * 1024,
    .receiver_arena_size = 256 * 1024,
    .max_dma_size = kDefaultMaxDmaSize,
};
// The receiver's arena (1 MiB) is four times the sender's (256 KiB).
constexpr MessageLimits kReceiverLarger{
    .sender_arena_size = 256 * 1024,
    .receiver_arena_size = 1024 * 1024,
    .max_dma_size = kDefaultMaxDmaSize,
};

MessageHeader Header(MessageKind kind, uint64_t id = 77) {
  MessageHeader h{};
  h.magic = kMessageMagic;
  h.version = kMessageVersion;
  h.kind = static_cast<uint8_t>(kind);
  h.message_id = id;
  return h;
}

MessageHeader Request(uint16_t flags = 0, uint64_t offset = 0, uint64_t length = 0) {
  MessageHeader h = Header(MessageKind::kRequest);
  h.command = 3;
  h.flags = flags;
  h.dma_offset = offset;
  h.dma_length = length;
  return h;
}

MessageHeader Reply(uint16_t flags = 0, uint64_t offset = 0, uint64_t length = 0) {
  MessageHeader h = Header(MessageKind::kReply);
  h.command = 3;
  h.flags = flags;
  h.dma_offset = offset;
  h.dma_length = length;
  return h;
}

MessageHeader Release(uint64_t offset, uint64_t length) {
  MessageHeader h = Header(MessageKind::kRelease);
  h.dma_offset = offset;
  h.dma_length = length;
  return h;
}

// Checks `h` as the whole of a record that holds exactly its inline payload.
absl::Status Check(const MessageHeader& h, const MessageLimits& limits = kSenderLarger) {
  return CheckMessageShape(h, kMessageHeaderSize + h.inline_length, limits);
}

MATCHER_P(IsBadMessageNaming, text, "is BAD_MESSAGE (DATA_LOSS) naming \"" + std::string(text) +
                                        "\"") {
  if (arg.code() != absl::StatusCode::kDataLoss) {
    *result_listener << "code is " << absl::StatusCodeToString(arg.code());
    return false;
  }
  if (!IsBadMessage(arg)) {
    *result_listener << "IsBadMessage() is false";
    return false;
  }
  return testing::ExplainMatchResult(HasSubstr(text), std::string(arg.message()),
                                     result_listener);
}

// --- Framing: record size, magic, version, mirror slot, inline length ---------------------------

TEST(MessageCheckTest, RejectsRecordShorterThanHeader) {
  EXPECT_THAT(CheckMessageShape(Request(), 47, kSenderLarger),
              IsBadMessageNaming("message of 47 bytes is shorter than the 48-byte header"));
}

TEST(MessageCheckTest, RejectsEmptyRecord) {
  EXPECT_THAT(CheckMessageShape(Request(), 0, kSenderLarger),
              IsBadMessageNaming("message of 0 bytes is shorter"));
}

TEST(MessageCheckTest, RejectsBadMagic) {
  MessageHeader h = Request();
  h.magic = 0x4b4c5954;
  EXPECT_THAT(Check(h), IsBadMessageNaming("bad magic 0x4b4c5954"));
}

TEST(MessageCheckTest, RejectsZeroMagic) {
  MessageHeader h = Request();
  h.magic = 0;
  EXPECT_THAT(Check(h), IsBadMessageNaming("bad magic 0x00000000"));
}

TEST(MessageCheckTest, RejectsNewerVersion) {
  MessageHeader h = Request();
  h.version = kMessageVersion + 1;
  EXPECT_THAT(Check(h), IsBadMessageNaming(
                            absl::StrCat("version ", kMessageVersion + 1, " is not supported")));
}

TEST(MessageCheckTest, RejectsOlderVersion) {
  MessageHeader h = Request();
  h.version = 1;  // before requests named their mirror slot
  EXPECT_THAT(Check(h), IsBadMessageNaming("version 1 is not supported"));
}

TEST(MessageCheckTest, RejectsVersionZero) {
  MessageHeader h = Request();
  h.version = 0;
  EXPECT_THAT(Check(h), IsBadMessageNaming("version 0 is not supported"));
}

// --- The fast path: IsPlainMessage ----------------------------------------------------------------

TEST(MessageCheckTest, FastPathAcceptsPlainRequestsAndReplies) {
  MessageHeader request = Request();
  request.inline_length = 64;
  request.mirror_slot = kMirrorSlots - 1;
  EXPECT_TRUE(IsPlainMessage(request, kMessageHeaderSize + 64));
  MessageHeader reply = Reply();
  reply.status = static_cast<int32_t>(absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(IsPlainMessage(reply, kMessageHeaderSize));
}

TEST(MessageCheckTest, FastPathLeavesEverythingElseToTheFullCheck) {
  std::vector<std::pair<std::string, MessageHeader>> cases;
  auto add = [&](std::string name, auto change) {
    MessageHeader h = Request();
    change(h);
    cases.emplace_back(std::move(name), h);
  };
  add("a DMA loan", [](MessageHeader& h) {
    h.flags = kFlagDmaToTarget;
    h.dma_length = kPage;
  });
  add("a stray DMA offset", [](MessageHeader& h) { h.dma_offset = kPage; });
  add("bad magic", [](MessageHeader& h) { h.magic = 1; });
  add("another version", [](MessageHeader& h) { h.version = kMessageVersion + 1; });
  add("id 0", [](MessageHeader& h) { h.message_id = 0; });
  add("a status on a request", [](MessageHeader& h) { h.status = 1; });
  add("a mirror slot past the mirror", [](MessageHeader& h) { h.mirror_slot = kMirrorSlots; });
  add("a release", [](MessageHeader& h) { h.kind = static_cast<uint8_t>(MessageKind::kRelease); });
  add("an unknown kind", [](MessageHeader& h) { h.kind = 9; });
  add("a reply naming a mirror slot", [](MessageHeader& h) {
    h.kind = static_cast<uint8_t>(MessageKind::kReply);
    h.mirror_slot = 1;
  });
  add("a reply with a status past the canonical codes", [](MessageHeader& h) {
    h.kind = static_cast<uint8_t>(MessageKind::kReply);
    h.status = 17;
  });
  add("a reply with a negative status", [](MessageHeader& h) {
    h.kind = static_cast<uint8_t>(MessageKind::kReply);
    h.status = -1;
  });
  add("a synthetic reply", [](MessageHeader& h) {
    h.kind = static_cast<uint8_t>(MessageKind::kReply);
    h.flags = kFlagSynthetic;
  });
  for (const auto& [name, h] : cases) {
    EXPECT_FALSE(IsPlainMessage(h, kMessageHeaderSize)) << name;
  }
  MessageHeader h = Request();
  EXPECT_FALSE(IsPlainMessage(h, kMessageHeaderSize - 1)) << "a record shorter than a header";
  EXPECT_FALSE(IsPlainMessage(h, kMessageHeaderSize + 1)) << "an inline length that is off";
}

TEST(MessageCheckTest, RejectsRequestWithIdZero) {
  MessageHeader h = Request();
  h.message_id = 0;
  EXPECT_THAT(Check(h), IsBadMessageNaming("request 0: a request's id must not be 0"));
}

TEST(MessageCheckTest, AcceptsReplyWithIdZeroForTheLinkToMatch) {
  MessageHeader h = Reply();
  h.message_id = 0;  // no request has id 0, so the link finds it answers nothing
  EXPECT_TRUE(Check(h).ok());
}

TEST(MessageCheckTest, AcceptsRequestNamingTheLastMirrorSlot) {
  MessageHeader h = Request();
  h.mirror_slot = kMirrorSlots - 1;
  EXPECT_TRUE(Check(h).ok()) << Check(h);
}

TEST(MessageCheckTest, RejectsRequestMirrorSlotPastTheMirror) {
  MessageHeader h = Request();
  h.mirror_slot = kMirrorSlots;
  EXPECT_THAT(Check(h), IsBadMessageNaming("mirror slot 4096 is past the mirror's 4096 slots"));
}

TEST(MessageCheckTest, RejectsRequestMirrorSlotHighBit) {
  MessageHeader h = Request();
  h.mirror_slot = 0x80000000u;
  EXPECT_THAT(Check(h), IsBadMessageNaming("mirror slot 2147483648 is past"));
}

TEST(MessageCheckTest, RejectsReplyNamingAMirrorSlot) {
  MessageHeader h = Reply();
  h.mirror_slot = 1;
  EXPECT_THAT(Check(h), IsBadMessageNaming("mirror slot 1 must be 0"));
}

TEST(MessageCheckTest, RejectsReleaseNamingAMirrorSlot) {
  MessageHeader h = Release(kPage, kPage);
  h.mirror_slot = 7;
  EXPECT_THAT(Check(h), IsBadMessageNaming("mirror slot 7 must be 0"));
}

TEST(MessageCheckTest, RejectsInlineLengthLongerThanRecord) {
  MessageHeader h = Request();
  h.inline_length = 10;
  EXPECT_THAT(CheckMessageShape(h, kMessageHeaderSize + 5, kSenderLarger),
              IsBadMessageNaming("inline length 10 does not match the 5 bytes after the header"));
}

TEST(MessageCheckTest, RejectsInlineLengthShorterThanRecord) {
  MessageHeader h = Request();
  h.inline_length = 5;
  EXPECT_THAT(CheckMessageShape(h, kMessageHeaderSize + 10, kSenderLarger),
              IsBadMessageNaming("inline length 5 does not match the 10 bytes after the header"));
}

TEST(MessageCheckTest, RejectsInlineLengthThatMatchesOnlyTruncatedTo32Bits) {
  MessageHeader h = Request();
  h.inline_length = 3;
  EXPECT_THAT(CheckMessageShape(h, kMessageHeaderSize + (uint64_t{1} << 32) + 3, kSenderLarger),
              IsBadMessageNaming("inline length 3 does not match the 4294967299 bytes"));
}

TEST(MessageCheckTest, AcceptsInlinePayloadMatchingRecord) {
  MessageHeader h = Request();
  h.inline_length = 1000;
  EXPECT_TRUE(CheckMessageShape(h, kMessageHeaderSize + 1000, kSenderLarger).ok());
}

// --- Kinds ---------------------------------------------------------------------------------

TEST(MessageCheckTest, RejectsKindZero) {
  MessageHeader h = Request();
  h.kind = 0;
  EXPECT_THAT(Check(h), IsBadMessageNaming("message 77 has unknown kind 0"));
}

TEST(MessageCheckTest, RejectsKindFour) {
  MessageHeader h = Request();
  h.kind = 4;
  EXPECT_THAT(Check(h), IsBadMessageNaming("unknown kind 4"));
}

TEST(MessageCheckTest, RejectsKind255) {
  MessageHeader h = Request();
  h.kind = 255;
  EXPECT_THAT(Check(h), IsBadMessageNaming("unknown kind 255"));
}

// --- Requests ------------------------------------------------------------------------------

TEST(MessageCheckTest, AcceptsPlainRequest) {
  EXPECT_TRUE(Check(Request()).ok());
}

TEST(MessageCheckTest, AcceptsRequestLendingBufferToTarget) {
  absl::Status s = Check(Request(kFlagDmaToTarget, 2 * kPage, 3 * kPage));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, AcceptsRequestLendingBufferFromTarget) {
  absl::Status s = Check(Request(kFlagDmaFromTarget, 0, 100));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsRequestWithNonZeroStatus) {
  MessageHeader h = Request();
  h.status = 3;
  EXPECT_THAT(Check(h), IsBadMessageNaming("request 77: status must be 0, is 3"));
}

TEST(MessageCheckTest, RejectsRequestWithNegativeStatus) {
  MessageHeader h = Request();
  h.status = -1;
  EXPECT_THAT(Check(h), IsBadMessageNaming("status must be 0, is -1"));
}

TEST(MessageCheckTest, RejectsRequestWithReplyBufferFlag) {
  EXPECT_THAT(Check(Request(kFlagDmaReplyBuffer, 0, kPage)),
              IsBadMessageNaming("flags 0x4 are not allowed on a request"));
}

TEST(MessageCheckTest, RejectsRequestWithSyntheticFlag) {
  EXPECT_THAT(Check(Request(kFlagSynthetic)),
              IsBadMessageNaming("flags 0x8 are not allowed on a request"));
}

TEST(MessageCheckTest, RejectsRequestWithUnknownFlag) {
  EXPECT_THAT(Check(Request(0x10)), IsBadMessageNaming("flags 0x10 are not allowed"));
}

TEST(MessageCheckTest, RejectsRequestLendingBothToAndFromTarget) {
  EXPECT_THAT(Check(Request(kFlagDmaToTarget | kFlagDmaFromTarget, 0, kPage)),
              IsBadMessageNaming("cannot be lent both to and from the target"));
}

TEST(MessageCheckTest, RejectsRequestDmaOffsetNotPageAligned) {
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, 100, kPage)),
              IsBadMessageNaming("request 77: DMA offset 100 is not page-aligned"));
}

TEST(MessageCheckTest, RejectsRequestDmaOffsetOneBelowPage) {
  EXPECT_THAT(Check(Request(kFlagDmaFromTarget, kPage - 1, kPage)),
              IsBadMessageNaming("DMA offset 4095 is not page-aligned"));
}

TEST(MessageCheckTest, RejectsRequestDmaLengthZero) {
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, kPage, 0)),
              IsBadMessageNaming("DMA flag set but DMA length is 0"));
}

TEST(MessageCheckTest, RejectsRequestDmaFromTargetLengthZero) {
  EXPECT_THAT(Check(Request(kFlagDmaFromTarget, 0, 0)),
              IsBadMessageNaming("DMA flag set but DMA length is 0"));
}

TEST(MessageCheckTest, AcceptsDmaLengthEqualToLimit) {
  absl::Status s = Check(Request(kFlagDmaToTarget, 0, kDefaultMaxDmaSize));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsDmaLengthAboveLimit) {
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, 0, kDefaultMaxDmaSize + 1)),
              IsBadMessageNaming("DMA length 131073 exceeds the link's limit of 131072 bytes"));
}

TEST(MessageCheckTest, DmaLimitComesFromLimitsNotDefault) {
  MessageLimits limits = kSenderLarger;
  limits.max_dma_size = 2 * kPage;
  EXPECT_TRUE(Check(Request(kFlagDmaToTarget, 0, 2 * kPage), limits).ok());
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, 0, 2 * kPage + 1), limits),
              IsBadMessageNaming("exceeds the link's limit of 8192 bytes"));
}

TEST(MessageCheckTest, AcceptsRequestBufferEndingAtSenderArenaEnd) {
  uint64_t end = kSenderLarger.sender_arena_size;
  absl::Status s = Check(Request(kFlagDmaToTarget, end - 2 * kPage, 2 * kPage));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsRequestBufferCrossingSenderArenaEnd) {
  uint64_t end = kSenderLarger.sender_arena_size;
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, end - kPage, 2 * kPage)),
              IsBadMessageNaming("DMA range [1044480, +8192) lies outside the sender's arena of "
                                 "1048576 bytes"));
}

TEST(MessageCheckTest, RejectsRequestBufferStartingAtSenderArenaEnd) {
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, kSenderLarger.sender_arena_size, 1)),
              IsBadMessageNaming("lies outside the sender's arena"));
}

TEST(MessageCheckTest, RejectsRequestBufferFarPastSenderArena) {
  EXPECT_THAT(Check(Request(kFlagDmaFromTarget, kMax - kPage + 1, 2 * kPage)),
              IsBadMessageNaming("lies outside the sender's arena"));
}

// With a (nonsensical) arena reaching the top of the address space, offset + length wraps
// to a small number; the check must not be fooled by it.
TEST(MessageCheckTest, RejectsRequestBufferWhoseEndWrapsPast2To64) {
  MessageLimits limits{.sender_arena_size = kMax, .receiver_arena_size = kMax,
                       .max_dma_size = kMax};
  uint64_t offset = kMax - kPage + 1;  // 2^64 - 4096, page-aligned
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, offset, 2 * kPage), limits),
              IsBadMessageNaming("lies outside the sender's arena"));
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, offset, kMax), limits),
              IsBadMessageNaming("lies outside the sender's arena"));
}

TEST(MessageCheckTest, RequestBufferIsCheckedAgainstSenderArena) {
  // Inside the receiver's 1 MiB arena but outside the sender's 256 KiB one.
  EXPECT_THAT(Check(Request(kFlagDmaToTarget, 512 * 1024, kPage), kReceiverLarger),
              IsBadMessageNaming("lies outside the sender's arena of 262144 bytes"));
  // Inside the sender's 1 MiB arena but outside the receiver's 256 KiB one.
  absl::Status s = Check(Request(kFlagDmaToTarget, 512 * 1024, kPage), kSenderLarger);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsRequestDmaOffsetWithoutFlag) {
  EXPECT_THAT(Check(Request(0, kPage, 0)),
              IsBadMessageNaming("request 77: DMA descriptor [4096, +0) without a DMA flag"));
}

TEST(MessageCheckTest, RejectsRequestDmaLengthWithoutFlag) {
  EXPECT_THAT(Check(Request(0, 0, 100)),
              IsBadMessageNaming("DMA descriptor [0, +100) without a DMA flag"));
}

// --- Replies -------------------------------------------------------------------------------

TEST(MessageCheckTest, AcceptsPlainReply) {
  MessageHeader h = Reply();
  h.inline_length = 4;
  EXPECT_TRUE(Check(h).ok());
}

TEST(MessageCheckTest, AcceptsReplyWithLargestCanonicalStatus) {
  MessageHeader h = Reply();
  h.status = static_cast<int32_t>(absl::StatusCode::kUnauthenticated);  // 16
  EXPECT_TRUE(Check(h).ok());
}

TEST(MessageCheckTest, AcceptsSyntheticReply) {
  MessageHeader h = Reply(kFlagSynthetic);
  h.status = static_cast<int32_t>(absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Check(h).ok());
}

TEST(MessageCheckTest, RejectsReplyWithToTargetFlag) {
  EXPECT_THAT(Check(Reply(kFlagDmaToTarget, 0, kPage)),
              IsBadMessageNaming("reply 77: flags 0x1 are not allowed on a reply"));
}

TEST(MessageCheckTest, RejectsReplyWithUnknownFlag) {
  EXPECT_THAT(Check(Reply(0x8000)), IsBadMessageNaming("flags 0x8000 are not allowed on a reply"));
}

TEST(MessageCheckTest, RejectsReplyReturningFilledBufferAndCarryingItsOwn) {
  EXPECT_THAT(Check(Reply(kFlagDmaFromTarget | kFlagDmaReplyBuffer, 0, kPage)),
              IsBadMessageNaming("one buffer per message"));
}

TEST(MessageCheckTest, RejectsReplyStatusMinusOne) {
  MessageHeader h = Reply();
  h.status = -1;
  EXPECT_THAT(Check(h), IsBadMessageNaming("reply 77: status -1 is not a canonical status code"));
}

TEST(MessageCheckTest, RejectsReplyStatus17) {
  MessageHeader h = Reply();
  h.status = 17;
  EXPECT_THAT(Check(h), IsBadMessageNaming("status 17 is not a canonical status code"));
}

TEST(MessageCheckTest, RejectsReplyStatusMinInt) {
  MessageHeader h = Reply();
  h.status = std::numeric_limits<int32_t>::min();
  EXPECT_THAT(Check(h), IsBadMessageNaming("is not a canonical status code"));
}

TEST(MessageCheckTest, AcceptsReplyReturningFilledBufferWithZeroBytes) {
  absl::Status s = Check(Reply(kFlagDmaFromTarget, 3 * kPage, 0));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, AcceptsReplyReturningFilledBuffer) {
  absl::Status s = Check(Reply(kFlagDmaFromTarget, 3 * kPage, 5000));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReplyFilledBufferNotPageAligned) {
  EXPECT_THAT(Check(Reply(kFlagDmaFromTarget, 8, 0)),
              IsBadMessageNaming("reply 77: DMA offset 8 is not page-aligned"));
}

TEST(MessageCheckTest, RejectsReplyFilledBufferAboveLimit) {
  EXPECT_THAT(Check(Reply(kFlagDmaFromTarget, 0, kDefaultMaxDmaSize + kPage)),
              IsBadMessageNaming("exceeds the link's limit"));
}

TEST(MessageCheckTest, ReplyFilledBufferIsCheckedAgainstReceiverArena) {
  // Inside the sender's 1 MiB arena but outside the receiver's 256 KiB one: the lent buffer
  // is the receiver's own, so this is out of range.
  EXPECT_THAT(Check(Reply(kFlagDmaFromTarget, 512 * 1024, kPage), kSenderLarger),
              IsBadMessageNaming("DMA range [524288, +4096) lies outside our arena of 262144 "
                                 "bytes"));
  // Inside the receiver's 1 MiB arena but outside the sender's 256 KiB one: fine.
  absl::Status s = Check(Reply(kFlagDmaFromTarget, 512 * 1024, kPage), kReceiverLarger);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReplyFilledEmptyBufferPastReceiverArena) {
  EXPECT_THAT(Check(Reply(kFlagDmaFromTarget, 512 * 1024, 0), kSenderLarger),
              IsBadMessageNaming("lies outside our arena"));
}

TEST(MessageCheckTest, AcceptsReplyCarryingItsOwnBuffer) {
  absl::Status s = Check(Reply(kFlagDmaReplyBuffer, kPage, 2 * kPage));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReplyBufferOfZeroLength) {
  EXPECT_THAT(Check(Reply(kFlagDmaReplyBuffer, kPage, 0)),
              IsBadMessageNaming("DMA flag set but DMA length is 0"));
}

TEST(MessageCheckTest, RejectsReplyBufferNotPageAligned) {
  EXPECT_THAT(Check(Reply(kFlagDmaReplyBuffer, kPage + 1, kPage)),
              IsBadMessageNaming("DMA offset 4097 is not page-aligned"));
}

TEST(MessageCheckTest, ReplyBufferIsCheckedAgainstSenderArena) {
  // Inside the receiver's 1 MiB arena but outside the sender's 256 KiB one.
  EXPECT_THAT(Check(Reply(kFlagDmaReplyBuffer, 512 * 1024, kPage), kReceiverLarger),
              IsBadMessageNaming("lies outside the sender's arena of 262144 bytes"));
  // Inside the sender's 1 MiB arena but outside the receiver's 256 KiB one: fine.
  absl::Status s = Check(Reply(kFlagDmaReplyBuffer, 512 * 1024, kPage), kSenderLarger);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReplyDmaDescriptorWithoutFlag) {
  EXPECT_THAT(Check(Reply(0, kPage, kPage)),
              IsBadMessageNaming("reply 77: DMA descriptor [4096, +4096) without a DMA flag"));
}

TEST(MessageCheckTest, RejectsSyntheticReplyWithDmaDescriptor) {
  EXPECT_THAT(Check(Reply(kFlagSynthetic, 0, kPage)),
              IsBadMessageNaming("without a DMA flag"));
}

// --- Releases ------------------------------------------------------------------------------

TEST(MessageCheckTest, AcceptsRelease) {
  absl::Status s = Check(Release(kPage, 3 * kPage));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReleaseWithCommand) {
  MessageHeader h = Release(kPage, kPage);
  h.command = 1;
  EXPECT_THAT(Check(h), IsBadMessageNaming(
                            "release 77: flags, status, command and inline length must be 0"));
}

TEST(MessageCheckTest, RejectsReleaseWithStatus) {
  MessageHeader h = Release(kPage, kPage);
  h.status = 2;
  EXPECT_THAT(Check(h), IsBadMessageNaming("must be 0"));
}

TEST(MessageCheckTest, RejectsReleaseWithFlags) {
  MessageHeader h = Release(kPage, kPage);
  h.flags = kFlagDmaReplyBuffer;
  EXPECT_THAT(Check(h), IsBadMessageNaming("release 77: flags, status, command"));
}

TEST(MessageCheckTest, RejectsReleaseWithInlinePayload) {
  MessageHeader h = Release(kPage, kPage);
  h.inline_length = 4;  // and the record really holds 4 bytes more
  EXPECT_THAT(CheckMessageShape(h, kMessageHeaderSize + 4, kSenderLarger),
              IsBadMessageNaming("inline length must be 0"));
}

TEST(MessageCheckTest, RejectsReleaseOfEmptyBuffer) {
  EXPECT_THAT(Check(Release(kPage, 0)), IsBadMessageNaming("DMA flag set but DMA length is 0"));
}

TEST(MessageCheckTest, RejectsReleaseNotPageAligned) {
  EXPECT_THAT(Check(Release(kPage / 2, kPage)),
              IsBadMessageNaming("release 77: DMA offset 2048 is not page-aligned"));
}

TEST(MessageCheckTest, ReleaseIsCheckedAgainstReceiverArena) {
  // Inside the sender's 1 MiB arena but outside the receiver's 256 KiB one.
  EXPECT_THAT(Check(Release(512 * 1024, kPage), kSenderLarger),
              IsBadMessageNaming("DMA range [524288, +4096) lies outside our arena of 262144 "
                                 "bytes"));
  // Inside the receiver's 1 MiB arena but outside the sender's 256 KiB one: fine.
  absl::Status s = Check(Release(512 * 1024, kPage), kReceiverLarger);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReleaseCrossingReceiverArenaEnd) {
  uint64_t end = kSenderLarger.receiver_arena_size;
  EXPECT_THAT(Check(Release(end - kPage, 2 * kPage)), IsBadMessageNaming("lies outside our arena"));
}

TEST(MessageCheckTest, RejectsReleaseAboveLimit) {
  EXPECT_THAT(Check(Release(0, kDefaultMaxDmaSize + 1)),
              IsBadMessageNaming("exceeds the link's limit"));
}

}  // namespace
}  // namespace syslink::internal
