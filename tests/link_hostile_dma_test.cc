// Hostile peers of a link that lie about DMA buffers: descriptors outside an arena,
// misaligned, too long, without a flag or lent both ways; replies that fill a buffer their
// request did not lend, or keep the one it did; releases of buffers never lent. A forked
// child writes them into the ring its end produces (tests/link_hostile_peer_testing.h); the
// parent must close the link with BAD_MESSAGE naming the violation and lose no buffer.

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/link_options.h"
#include "syslink/msg_format.h"
#include "tests/link_hostile_peer_testing.h"

namespace syslink {
namespace {

using ::syslink::testing::Header;
using ::syslink::testing::HostilePeerTest;
using ::syslink::testing::RequestId;
using ::syslink::testing::WithDma;
using ::syslink::testing::Writes;
using ::testing::HasSubstr;

TEST_F(HostilePeerTest, DmaOffsetPastTheArena) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), kArenaSize, 4096)),
      HasSubstr("lies outside the sender's arena"));
}

TEST_F(HostilePeerTest, DmaRangeStraddlingTheArenaEnd) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget),
                                 kArenaSize - 4096, 8192)),
                  HasSubstr("lies outside the sender's arena"));
}

TEST_F(HostilePeerTest, DmaOffsetThatWrapsAroundTwoToThe64) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget),
                                 0 - uint64_t{4096}, 8192)),
                  HasSubstr("lies outside the sender's arena"));
}

TEST_F(HostilePeerTest, DmaOffsetMisaligned) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), 100, 4096)),
                  HasSubstr("DMA offset 100 is not page-aligned"));
}

TEST_F(HostilePeerTest, DmaLengthAboveMaxDmaSize) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaFromTarget), 0,
                                 kDefaultMaxDmaSize + 4096)),
                  HasSubstr("exceeds the link's limit"));
}

TEST_F(HostilePeerTest, DmaFlagWithoutALength) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), 4096, 0)),
                  HasSubstr("DMA flag set but DMA length is 0"));
}

TEST_F(HostilePeerTest, DmaDescriptorWithoutAFlag) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100), 4096, 4096)),
                  HasSubstr("without a DMA flag"));
}

TEST_F(HostilePeerTest, BufferLentBothWays) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget | kFlagDmaFromTarget), 0,
                     4096)),
      HasSubstr("both to and from the target"));
}

TEST_F(HostilePeerTest, FilledReplyOutsideTheRequestersArena) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                 kArenaSize, 4096)),
                  HasSubstr("lies outside our arena"));
}

TEST_F(HostilePeerTest, FilledReplyNamingABufferItsRequestDidNotLend) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                 kToTargetOffset, 4096)),
                  HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, FilledReplyLongerThanTheLoan) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                 kFromTargetOffset, kLoanBytes + 4096)),
                  HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, FilledReplyToARequestThatLentNothing) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kReply, RequestId(1), kFlagDmaFromTarget),
                                 kFromTargetOffset, 0)),
                  HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, ReplyThatKeepsTheBufferItWasLentToFill) {
  ExpectViolation(Writes(Header(MessageKind::kReply, kFromTargetId)),
                  HasSubstr("does not return the buffer its request lent to fill"));
}

TEST_F(HostilePeerTest, ReleaseOfABufferNeverLent) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRelease, 0), 0, 4096)),
                  HasSubstr("which this end did not lend with a reply"));
}

}  // namespace
}  // namespace syslink
