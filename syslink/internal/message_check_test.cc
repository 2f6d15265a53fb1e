// Tests of CheckMessageShape() on what every message must get right, whatever its kind:
// record size, magic, version, id, mirror slot, inline length and kind; and of
// IsPlainMessage(), the fast path that passes only messages the full check would. One
// narrow case per rule, most of them hostile headers a peer could write into the ring.
// Every rejection must be BAD_MESSAGE (DATA_LOSS) and name the problem. Each kind's own
// rules have files of their own (message_check_{request,reply,release}_test.cc).

#include "syslink/internal/message_check.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/internal/message_check_testing.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"

namespace syslink::internal {
namespace {

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
  h.message_id = 5 * uint64_t{kMirrorSlots} - 1;
  h.mirror_slot = kMirrorSlots - 1;
  EXPECT_TRUE(Check(h).ok()) << Check(h);
}

TEST(MessageCheckTest, RejectsRequestNamingASlotItsIdDoesNot) {
  MessageHeader h = Request();  // id 77
  h.mirror_slot = 78;
  EXPECT_THAT(Check(h), IsBadMessageNaming("request 77: mirror slot 78 is not the one its id "
                                           "names (77, the id modulo 4096)"));
  h.message_id = kMirrorSlots + 78;
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
  MessageHeader h = Reply();  // a mirror slot of 0, as a kind other than a request needs
  h.kind = 0;
  EXPECT_THAT(Check(h), IsBadMessageNaming("message 77 has unknown kind 0"));
}

TEST(MessageCheckTest, RejectsKindFour) {
  MessageHeader h = Reply();  // a mirror slot of 0, as a kind other than a request needs
  h.kind = 4;
  EXPECT_THAT(Check(h), IsBadMessageNaming("unknown kind 4"));
}

TEST(MessageCheckTest, RejectsKind255) {
  MessageHeader h = Reply();  // a mirror slot of 0, as a kind other than a request needs
  h.kind = 255;
  EXPECT_THAT(Check(h), IsBadMessageNaming("unknown kind 255"));
}

// --- The fast path: IsPlainMessage
// ----------------------------------------------------------------

TEST(MessageCheckTest, FastPathAcceptsPlainRequestsAndReplies) {
  MessageHeader request = Request();
  request.inline_length = 64;
  request.message_id = 2 * uint64_t{kMirrorSlots} - 1;
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
  add("a mirror slot its id does not name", [](MessageHeader& h) { h.mirror_slot = 0; });
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

}  // namespace
}  // namespace syslink::internal
