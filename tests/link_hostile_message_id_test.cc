// Hostile peers of a link that break the rules of message ids: a reply to a request never
// sent or answered twice, a request that reuses an id still awaiting its reply or uses id
// 0, and more requests awaiting a reply than the mirror has slots. A forked child writes
// them into the ring its end produces (tests/link_hostile_peer_testing.h); the parent must
// close the link with BAD_MESSAGE naming the violation.

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"
#include "tests/link_hostile_peer_testing.h"
#include "tests/link_peer_testing.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Header;
using ::syslink::testing::HostilePeerTest;
using ::syslink::testing::kChildPatience;
using ::syslink::testing::kEcho;
using ::syslink::testing::kOk;
using ::syslink::testing::kPatience;
using ::syslink::testing::RawPeer;
using ::syslink::testing::RequestId;
using ::syslink::testing::Writes;
using ::testing::HasSubstr;

TEST_F(HostilePeerTest, ReplyToARequestNeverSent) {
  ExpectViolation(Writes(Header(MessageKind::kReply, 1000)),
                  HasSubstr("reply 1000 answers no outstanding request"));
}

TEST_F(HostilePeerTest, SecondReplyToTheSameRequest) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kReply, RequestId(1))) &&
               peer.WriteMessage(Header(MessageKind::kReply, RequestId(1)));
      },
      HasSubstr(absl::StrCat("reply ", RequestId(1), " answers no outstanding request")),
      /*answered=*/{RequestId(1)});
}

TEST_F(HostilePeerTest, RequestReusingTheIdOfOneAwaitingItsReply) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kRequest, 7)) &&
               peer.WriteMessage(Header(MessageKind::kRequest, 7));
      },
      HasSubstr("request 7 reuses the id"), /*answered=*/{}, /*requests=*/1);
}

// Stray synthetic replies (to requests answered already, say) are consumed without a
// trace, and a peer writing them without end keeps the ring ready: Receive() and Call()
// must look at the clock now and then while they consume them, or no deadline would end
// their wait. Here a ring full of them, and deadlines already past: each returns with most
// of them still unread.
TEST_F(HostilePeerTest, StraySyntheticRepliesHoldOffNoDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    return peer.WriteMessages(Header(MessageKind::kReply, RequestId(999), kFlagSynthetic),
                              1 << 20) > 600;
  }));
  ASSERT_TRUE(syslink::testing::Eventually([&] { return link_.Ready(); }));
  EXPECT_EQ(link_.Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(link_.Ready()) << "Receive() read every stray reply before its deadline ended it";
  absl::StatusOr<Message> reply = link_.Call(kEcho, AsBytes("x"), {}, absl::InfinitePast());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kDeadlineExceeded) << reply->status;
  EXPECT_TRUE(link_.Ready()) << "Call() read every stray reply before its deadline ended it";
  link_.Close();
  EXPECT_EQ(child_->WaitFor(kPatience), ChildProcess::Exited(kOk));
}

// The same count of stray replies, the last record a violation instead: the violation
// queues a reply for the waiting Call(), which returns that one, not a second of its own.
TEST_F(HostilePeerTest, AViolationAmongStrayRepliesAnswersACallOnce) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    return peer.WriteMessages(Header(MessageKind::kReply, RequestId(999), kFlagSynthetic), 255,
                              /*publish=*/false) == 255 &&
           peer.WriteMessage(Header(MessageKind::kReply, 1000));
  }));
  ASSERT_TRUE(syslink::testing::Eventually([&] { return link_.Ready(); }));
  absl::StatusOr<Message> reply = link_.Call(kEcho, AsBytes("x"), {}, absl::InfinitePast());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(IsBadMessage(reply->status)) << reply->status;
  // Every other request gets its one reply, and none comes for the call's.
  ExpectClosedByViolation(HasSubstr("reply 1000 answers no outstanding request"));
  ExpectAftermath();
}

TEST_F(HostilePeerTest, RequestWithIdZero) {
  ExpectViolation(Writes(Header(MessageKind::kRequest, 0)),
                  HasSubstr("request 0: a request's id must not be 0"));
}

// A request in a mirror slot that a request still awaiting its reply holds: a peer cannot
// make the target track two requests per slot.
TEST_F(HostilePeerTest, RequestInASlotStillHeld) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kRequest, 7)) &&
               peer.WriteMessage(Header(MessageKind::kRequest, 7 + kMirrorSlots));
      },
      HasSubstr(absl::StrCat("request ", 7 + kMirrorSlots,
                             " names mirror slot 7, which request 7, still awaiting this end's "
                             "reply, holds")),
      /*answered=*/{}, /*requests=*/1);
}

// More requests awaiting a reply than the requester's mirror has slots for: the target
// keeps a bounded table.
TEST_F(HostilePeerTest, MoreRequestsThanTheMirrorHasSlots) {
  ExpectViolation(
      [](RawPeer& peer) {
        const absl::Time give_up = absl::Now() + kChildPatience;
        for (uint64_t id = 1; id <= kMirrorSlots + 1; ++id) {
          while (!peer.WriteMessage(Header(MessageKind::kRequest, id))) {
            // the ring is full until the parent reads
            if (absl::Now() > give_up) return false;
            absl::SleepFor(absl::Microseconds(50));
          }
        }
        return true;
      },
      HasSubstr(absl::StrCat("request ", kMirrorSlots + 1,
                             " names mirror slot 1, which request 1, still awaiting")),
      /*answered=*/{}, /*requests=*/kMirrorSlots);
}

}  // namespace
}  // namespace syslink
