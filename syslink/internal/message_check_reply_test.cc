// Tests of CheckMessageShape() on replies: their flags and status, a filled buffer they
// return (checked against the receiver's arena) and a buffer of their own they lend
// (checked against the sender's). One narrow case per rule; every rejection must be
// BAD_MESSAGE (DATA_LOSS) and name the problem.

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/internal/message_check.h"
#include "syslink/internal/message_check_testing.h"
#include "syslink/msg_format.h"

namespace syslink::internal {
namespace {

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
  EXPECT_THAT(Check(Reply(kFlagSynthetic, 0, kPage)), IsBadMessageNaming("without a DMA flag"));
}

}  // namespace
}  // namespace syslink::internal
