// Tests of CheckMessageShape() on requests: their flags and status, and the buffer they
// lend, checked against the DMA limit and the sender's arena. One narrow case per rule;
// every rejection must be BAD_MESSAGE (DATA_LOSS) and name the problem.

#include <cstdint>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/internal/message_check.h"
#include "syslink/internal/message_check_testing.h"
#include "syslink/msg_format.h"

namespace syslink::internal {
namespace {

TEST(MessageCheckTest, AcceptsPlainRequest) { EXPECT_TRUE(Check(Request()).ok()); }

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
  MessageLimits limits{
      .sender_arena_size = kMax, .receiver_arena_size = kMax, .max_dma_size = kMax};
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

}  // namespace
}  // namespace syslink::internal
