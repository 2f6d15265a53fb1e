// Hostile peers of a link that write records no header check accepts: random bytes, and
// headers crafted to break one rule each (size, magic, version, kind, inline length,
// mirror slot, flags, status). A forked child writes them into the ring its end produces
// (tests/link_hostile_peer_testing.h); the parent must complete its outstanding calls,
// close the link with BAD_MESSAGE naming the violation, lose no buffer, and go on to use
// new links. First, the harness itself: a raw peer that follows the protocol is answered.

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/link.h"
#include "syslink/msg_format.h"
#include "tests/link_hostile_peer_testing.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::Header;
using ::syslink::testing::HostilePeerTest;
using ::syslink::testing::kOk;
using ::syslink::testing::kPatience;
using ::syslink::testing::RawPeer;
using ::syslink::testing::RequestId;
using ::syslink::testing::Soon;
using ::syslink::testing::WithDma;
using ::syslink::testing::Writes;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// The harness itself: a raw peer that follows the protocol is answered as a real one.
TEST_F(HostilePeerTest, RawRepliesThatFollowTheProtocolAreAccepted) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    std::memset(peer.Arena(1 - peer.side()) + kFromTargetOffset, 0x5a, 100);
    for (uint64_t n : {1, 2, 3, 5}) {
      if (!peer.WriteMessage(Header(MessageKind::kReply, RequestId(n)))) return false;
    }
    return peer.WriteMessage(WithDma(Header(MessageKind::kReply, kFromTargetId, kFlagDmaFromTarget),
                                     kFromTargetOffset, 100));
  }));
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Message> reply = link_.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_TRUE(reply->status.ok()) << reply->status;
    EXPECT_FALSE(reply->synthetic);
    if (reply->id == kFromTargetId) {
      ASSERT_EQ(reply->returned_buffer.size(), 100u);
      EXPECT_EQ(reply->returned_buffer.data()[99], std::byte{0x5a});
    }
  }
  EXPECT_TRUE(link_.status().ok()) << link_.status();
  EXPECT_EQ(link_.Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  link_.Close();
  EXPECT_EQ(child_->WaitFor(kPatience), ChildProcess::Exited(kOk));
}

// Random bytes as record payloads.
TEST_F(HostilePeerTest, RandomBytesAsRecords) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    ExpectViolation(
        [seed](RawPeer& peer) {
          std::mt19937_64 random(seed);
          for (int i = 0; i < 16; ++i) {
            std::vector<std::byte> bytes(random() % 300);
            for (std::byte& b : bytes) b = static_cast<std::byte>(random());
            if (!peer.WriteRecord(bytes)) return false;
          }
          return true;
        },
        AnyOf(HasSubstr("bad magic"), HasSubstr("shorter than the 48-byte header")));
  }
}

// Crafted bad headers.
TEST_F(HostilePeerTest, RecordShorterThanAHeader) {
  ExpectViolation([](RawPeer& peer) { return peer.WriteRecord(std::vector<std::byte>(20)); },
                  HasSubstr("message of 20 bytes is shorter than the 48-byte header"));
}

TEST_F(HostilePeerTest, BadMagic) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.magic = 0xdeadbeef;
  ExpectViolation(Writes(header), HasSubstr("bad magic 0xdeadbeef"));
}

TEST_F(HostilePeerTest, WrongVersion) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.version = kMessageVersion + 1;
  ExpectViolation(Writes(header), HasSubstr(absl::StrCat("message version ", kMessageVersion + 1,
                                                         " is not supported")));
}

TEST_F(HostilePeerTest, UnknownKind) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.kind = 7;
  ExpectViolation(Writes(header), HasSubstr("unknown kind 7"));
}

TEST_F(HostilePeerTest, InlineLengthLongerThanTheRecord) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.inline_length = 100;
  ExpectViolation(Writes(header, 10),
                  HasSubstr("inline length 100 does not match the 10 bytes after the header"));
}

TEST_F(HostilePeerTest, InlineLengthShorterThanTheRecord) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.inline_length = 0;
  ExpectViolation(Writes(header, 16),
                  HasSubstr("inline length 0 does not match the 16 bytes after the header"));
}

TEST_F(HostilePeerTest, InlineLengthNearTwoToThe32) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.inline_length = 0xffffffff;
  ExpectViolation(Writes(header, 8), HasSubstr("inline length 4294967295 does not match"));
}

TEST_F(HostilePeerTest, ReplyNamingAMirrorSlot) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.mirror_slot = 5;
  ExpectViolation(Writes(header), HasSubstr("mirror slot 5 must be 0"));
}

TEST_F(HostilePeerTest, RequestNamingAMirrorSlotPastTheMirror) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.mirror_slot = 0xffffffff;
  ExpectViolation(Writes(header), HasSubstr("mirror slot 4294967295 is past the mirror"));
}

TEST_F(HostilePeerTest, RequestNamingASlotItsIdDoesNot) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.mirror_slot = 5;
  ExpectViolation(Writes(header),
                  HasSubstr("request 100: mirror slot 5 is not the one its id names (100"));
}

TEST_F(HostilePeerTest, UnknownFlagOnARequest) {
  ExpectViolation(Writes(Header(MessageKind::kRequest, 100, 0x80)),
                  HasSubstr("flags 0x80 are not allowed on a request"));
}

TEST_F(HostilePeerTest, RequestCarryingAStatus) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.status = 3;
  ExpectViolation(Writes(header), HasSubstr("status must be 0"));
}

TEST_F(HostilePeerTest, ReplyStatusThatIsNoCanonicalCode) {
  MessageHeader header = Header(MessageKind::kReply, RequestId(1));
  header.status = 99;
  ExpectViolation(Writes(header), HasSubstr("status 99 is not a canonical status code"));
}

TEST_F(HostilePeerTest, ReleaseWithAPayload) {
  MessageHeader header = WithDma(Header(MessageKind::kRelease, 0), 0, 4096);
  header.inline_length = 8;
  ExpectViolation(Writes(header, 8), HasSubstr("inline length must be 0"));
}

}  // namespace
}  // namespace syslink
