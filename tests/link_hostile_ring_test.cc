// Hostile peers of a link that write garbage over the rings: a record past the end of the
// ring, padding over space not yet released, a whole control block overwritten (never read,
// so harmless), and a consumer index past what the parent published. A forked child maps the
// region and writes them (tests/link_hostile_peer_testing.h); the parent must close the link
// with BAD_MESSAGE naming the broken ring, lose no buffer, and go on to use new links.

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_format.h"
#include "syslink/link.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"
#include "tests/link_hostile_peer_testing.h"
#include "tests/link_peer_testing.h"
#include "tests/support/eventually.h"

namespace syslink {
namespace {

using ::syslink::testing::Header;
using ::syslink::testing::HostilePeerTest;
using ::syslink::testing::kEcho;
using ::syslink::testing::RawPeer;
using ::syslink::testing::Soon;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Writes a header stamped as published at index 0 of the peer's ring.
void PublishHeaderAtStart(RawPeer& peer, uint32_t payload_size) {
  const uint64_t word = ring::HeaderWord(payload_size, 0, true);
  std::memcpy(peer.Ring(peer.side()).data() + ring::kRecordSpaceOffset, &word, sizeof(word));
  peer.Wake();
}

TEST_F(HostilePeerTest, RingRecordPastTheEndOfTheRing) {
  ExpectViolation(
      [](RawPeer& peer) {
        PublishHeaderAtStart(peer, 0xfffffff0u);
        return true;
      },
      AllOf(HasSubstr("the peer broke the inbound ring"),
            HasSubstr("past the end of the record space")));
}

TEST_F(HostilePeerTest, RingPaddingOverUnreleasedSpace) {
  ExpectViolation(
      [](RawPeer& peer) {
        PublishHeaderAtStart(peer, ring::kPaddingPayloadSize);
        return true;
      },
      HasSubstr("runs into space the consumer has not released"));
}

// The consumer reads none of the producer's control lines: garbage there changes nothing,
// and the next message still arrives.
TEST_F(HostilePeerTest, WholeControlBlockOverwrittenIsNeverRead) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    std::memset(static_cast<void*>(&peer.Control(peer.side())), 0xa5, sizeof(ring::RingControl));
    return peer.WriteMessage(Header(MessageKind::kRequest, 77));
  }));
  absl::StatusOr<Message> request = link_.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->id, 77u);
}

// The ring the parent writes: a consumer index past everything published. The parent
// finds it when it next needs room, and must close the link as for any other violation.
TEST_F(HostilePeerTest, RingTailPastWhatWasPublished) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    peer.Control(1 - peer.side()).tail.store(uint64_t{1} << 40);
    // Then a well-formed request, so the parent knows the garbage is in place.
    return peer.WriteMessage(Header(MessageKind::kRequest, 77));
  }));
  absl::StatusOr<Message> signal = link_.Receive(Soon());
  ASSERT_TRUE(signal.ok()) << signal.status();
  ASSERT_EQ(signal->id, 77u);
  std::vector<std::byte> data(1000);
  absl::Status failed;
  for (int i = 0; i < 200 && failed.ok(); ++i) {
    absl::StatusOr<uint64_t> id = link_.Send(kEcho, data, {}, Soon());
    if (id.ok()) outstanding_.insert(*id);
    failed = id.status();
  }
  ASSERT_FALSE(failed.ok()) << "200 requests of 1000 bytes fit a 64 KiB ring";
  EXPECT_TRUE(IsBadMessage(failed)) << failed;
  ExpectClosedByViolation(HasSubstr("the peer broke the outbound ring"));
  ExpectAftermath();
}

}  // namespace
}  // namespace syslink
