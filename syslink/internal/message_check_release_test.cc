// Tests of CheckMessageShape() on releases: a release carries nothing but the buffer it
// gives back, checked against the receiver's arena and the DMA limit. One narrow case per
// rule; every rejection must be BAD_MESSAGE (DATA_LOSS) and name the problem.

#include <cstdint>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/internal/message_check.h"
#include "syslink/internal/message_check_testing.h"
#include "syslink/msg_format.h"

namespace syslink::internal {
namespace {

TEST(MessageCheckTest, AcceptsRelease) {
  absl::Status s = Check(Release(kPage, 3 * kPage));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(MessageCheckTest, RejectsReleaseWithCommand) {
  MessageHeader h = Release(kPage, kPage);
  h.command = 1;
  EXPECT_THAT(Check(h),
              IsBadMessageNaming("release 77: flags, status, command and inline length must be 0"));
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
