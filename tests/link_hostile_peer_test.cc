// Peers that break the protocol on purpose. A forked child adopts its end, maps the link's
// region itself and writes into the ring its end produces: random bytes, crafted bad
// headers, DMA descriptors out of range, replies to requests never sent or answered twice,
// releases of buffers never lent, garbage over the ring's control block. The parent must
// complete its outstanding calls, close the link with BAD_MESSAGE naming the violation,
// lose no buffer, and go on to use new links.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "ring/wait_mode.h"
#include "syslink/end_transfer.h"
#include "syslink/internal/link_layout.h"
#include "syslink/link.h"
#include "syslink/link_options.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::ExpectArenaWhole;
using ::syslink::testing::ForkWithEnd;
using ::syslink::testing::kAdoptFailed;
using ::syslink::testing::kAttachFailed;
using ::syslink::testing::kBadToken;
using ::syslink::testing::kCheckToTarget;
using ::syslink::testing::kChildPatience;
using ::syslink::testing::kEcho;
using ::syslink::testing::kFillFromTarget;
using ::syslink::testing::kLinkStayedOpen;
using ::syslink::testing::kMapFailed;
using ::syslink::testing::kOk;
using ::syslink::testing::kPatience;
using ::syslink::testing::kWriteFailed;
using ::syslink::testing::MakePair;
using ::syslink::testing::Options;
using ::syslink::testing::Soon;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Matcher;

// A hostile child's own hold on the link: a mapping of the region, and a producer on the
// ring its end writes. It keeps the end it adopted (and never uses it), so the end's
// socket stays open: the parent must blame the messages, not the peer's death.
class RawPeer {
 public:
  RawPeer(ring::SharedRegion region, const internal::LinkLayout& layout, int side, int socket)
      : region_(std::move(region)), layout_(layout), side_(side), socket_(socket) {}

  bool Attach(const ring::WaitOptions& wait) {
    absl::StatusOr<ring::RingProducer> producer = ring::RingProducer::Attach(Ring(side_), wait);
    if (!producer.ok()) return false;
    producer_.emplace(*std::move(producer));
    return true;
  }

  int side() const { return side_; }
  std::span<std::byte> Ring(int writer) const {
    return {region_.data() + layout_.RingOffset(writer), layout_.ring_bytes};
  }
  ring::RingControl& Control(int writer) const {
    return *reinterpret_cast<ring::RingControl*>(Ring(writer).data());
  }
  std::byte* Arena(int owner) const { return region_.data() + layout_.ArenaOffset(owner); }

  // Writes one record holding `payload` into this end's ring, publishes it and wakes the
  // parent.
  bool WriteRecord(std::span<const std::byte> payload) {
    absl::StatusOr<std::byte*> space = producer_->TryReserve(payload.size());
    if (!space.ok() || *space == nullptr) return false;
    if (!payload.empty()) std::memcpy(*space, payload.data(), payload.size());
    producer_->Commit(payload.size());
    producer_->Publish();
    Wake();
    return true;
  }

  // A record of `header` exactly as given (inline_length is not fixed up), then `data`.
  bool WriteMessage(const MessageHeader& header, std::span<const std::byte> data = {}) {
    std::vector<std::byte> record(kMessageHeaderSize + data.size());
    std::memcpy(record.data(), &header, kMessageHeaderSize);
    if (!data.empty()) std::memcpy(record.data() + kMessageHeaderSize, data.data(), data.size());
    return WriteRecord(record);
  }

  // Wakes a parent asleep in poll() on its socket, as the end's own producer would.
  void Wake() const {
    char byte = 'w';
    (void)send(socket_, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  }

 private:
  ring::SharedRegion region_;
  internal::LinkLayout layout_;
  int side_;
  int socket_;
  std::optional<ring::RingProducer> producer_;
};

using Attack = std::function<bool(RawPeer&)>;

// In a hostile child, after the attack: waits until the parent closes the link (its
// socket reports POLLHUP).
int WaitForLinkToClose(int socket) {
  const absl::Time give_up = absl::Now() + kChildPatience;
  while (absl::Now() < give_up) {
    struct pollfd p = {socket, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n > 0 && (p.revents & (POLLHUP | POLLERR))) return kOk;
    char bytes[64];
    while (n > 0 && recv(socket, bytes, sizeof(bytes), MSG_DONTWAIT) > 0) {
    }
  }
  return kLinkStayedOpen;
}

// The hostile child: adopts the end named by `token`, maps the region from the memfd the
// token names, attacks, and waits for the parent to close the link.
int RunHostilePeer(const std::string& token, const LinkOptions& options, const Attack& attack) {
  // prefix:socket:memfd:watch:side:...
  std::vector<std::string> fields = absl::StrSplit(token, ':');
  int socket = -1, memory = -1, side = -1;
  if (fields.size() < 5 || !absl::SimpleAtoi(fields[1], &socket) ||
      !absl::SimpleAtoi(fields[2], &memory) || !absl::SimpleAtoi(fields[4], &side)) {
    return kBadToken;
  }
  absl::StatusOr<Link> end = AdoptEnd(token);
  if (!end.ok()) return kAdoptFailed;
  internal::LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Map(UniqueFd(dup(memory)), layout.total_size);
  if (!region.ok()) return kMapFailed;
  RawPeer peer(*std::move(region), layout, side, socket);
  if (!peer.Attach(options.wait)) return kAttachFailed;
  if (!attack(peer)) return kWriteFailed;
  return WaitForLinkToClose(socket);
}

MessageHeader Header(MessageKind kind, uint64_t id, uint16_t flags = 0) {
  MessageHeader header{};
  header.magic = kMessageMagic;
  header.version = kMessageVersion;
  header.kind = static_cast<uint8_t>(kind);
  header.flags = flags;
  header.message_id = id;
  return header;
}

MessageHeader WithDma(MessageHeader header, uint64_t offset, uint64_t length) {
  header.dma_offset = offset;
  header.dma_length = length;
  return header;
}

// An attack that writes one message of `header` followed by `inline_bytes` bytes.
Attack Writes(MessageHeader header, size_t inline_bytes = 0) {
  return [header, inline_bytes](RawPeer& peer) {
    std::vector<std::byte> data(inline_bytes, std::byte{0x11});
    return peer.WriteMessage(header, data);
  };
}

class HostilePeerTest : public ::testing::Test {
 protected:
  // The parent's outstanding requests when the attack comes: ids 1 to 5. Request 3 lends
  // a to-target buffer, the first allocated (offset 0 of the parent's arena), request 4 a
  // from-target buffer, the next (offset 8192).
  static constexpr uint64_t kToTargetId = 3;
  static constexpr uint64_t kFromTargetId = 4;
  static constexpr uint64_t kToTargetOffset = 0;
  static constexpr uint64_t kFromTargetOffset = 8192;
  static constexpr uint64_t kLoanBytes = 8192;
  static constexpr uint64_t kArenaSize = 1024 * 1024;

  HostilePeerTest() : options_(Options(ring::WaitMode::kHybrid, 64 * 1024, kArenaSize)) {}

  void SendOutstanding() {
    absl::StatusOr<DmaBuffer> to = link_.AllocateBuffer(kLoanBytes);
    absl::StatusOr<DmaBuffer> from = link_.AllocateBuffer(kLoanBytes);
    ASSERT_TRUE(to.ok() && from.ok());
    std::vector<absl::StatusOr<uint64_t>> ids;
    ids.push_back(link_.Send(kEcho, AsBytes("one")));
    ids.push_back(link_.Send(kEcho, AsBytes("two")));
    ids.push_back(link_.Send(kCheckToTarget, {}, {*std::move(to), DmaDirection::kToTarget}));
    ids.push_back(
        link_.Send(kFillFromTarget, {}, {*std::move(from), DmaDirection::kFromTarget}));
    ids.push_back(link_.Send(kEcho, AsBytes("five")));
    outstanding_.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_TRUE(ids[i].ok()) << ids[i].status();
      ASSERT_EQ(*ids[i], i + 1);
      outstanding_.insert(*ids[i]);
    }
  }

  // A fresh link with the requests outstanding, and a child attacking its other end.
  void StartAttack(const Attack& attack) {
    LinkPair pair = MakePair(options_);
    link_ = std::move(pair.first);
    ASSERT_NO_FATAL_FAILURE(SendOutstanding());
    const LinkOptions options = options_;
    child_.reset();
    child_.emplace(ForkWithEnd(std::move(pair.second), link_, [&](const std::string& token) {
      return RunHostilePeer(token, options, attack);
    }));
  }

  // Receive() delivers one reply per outstanding request (a real one for `answered`, a
  // synthetic BAD_MESSAGE for the rest) and `requests` requests, then reports why the link
  // closed: BAD_MESSAGE naming the violation.
  void ExpectClosedByViolation(const Matcher<std::string>& violation,
                               const std::set<uint64_t>& answered = {}, int requests = 0) {
    std::set<uint64_t> replied;
    int requests_received = 0;
    absl::StatusOr<Message> message;
    while ((message = link_.Receive(Soon())).ok()) {
      if (message->kind == MessageKind::kRequest) {
        ++requests_received;
        continue;
      }
      const uint64_t id = message->id;
      ASSERT_EQ(outstanding_.count(id), 1u) << "a reply to request " << id << ", not outstanding";
      ASSERT_TRUE(replied.insert(id).second) << "a second reply to request " << id;
      if (answered.count(id) != 0) {
        EXPECT_TRUE(message->status.ok()) << "request " << id << ": " << message->status;
        EXPECT_FALSE(message->synthetic);
      } else {
        EXPECT_TRUE(IsBadMessage(message->status)) << "request " << id << ": " << message->status;
        EXPECT_EQ(message->status.code(), absl::StatusCode::kDataLoss);
        EXPECT_TRUE(message->synthetic);
      }
      if (id == kToTargetId || id == kFromTargetId) {
        EXPECT_TRUE(message->returned_buffer.valid()) << "request " << id << "'s buffer is lost";
      }
    }
    EXPECT_EQ(replied, outstanding_);
    EXPECT_EQ(requests_received, requests);
    const absl::Status closed = message.status();
    EXPECT_TRUE(IsBadMessage(closed)) << closed;
    EXPECT_EQ(closed.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(closed.message()), violation);
    EXPECT_EQ(link_.status(), closed);
    EXPECT_EQ(link_.stats().outstanding, 0u);
    ExpectArenaWhole(link_);
  }

  // The violation shut the link's socket down (the child saw it and exited), and this
  // process goes on to use a new link.
  void ExpectAftermath() {
    EXPECT_EQ(child_->WaitFor(kPatience), ChildProcess::Exited(kOk));
    link_.Close();
    LinkPair pair = MakePair(options_);
    ASSERT_TRUE(pair.first.Send(kEcho, AsBytes("again")).ok());
    absl::StatusOr<Message> request = pair.second.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
    ASSERT_TRUE(pair.second.Reply(request->id, absl::OkStatus(), request->data).ok());
    absl::StatusOr<Message> reply = pair.first.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->DataAsString(), "again");
  }

  void ExpectViolation(const Attack& attack, const Matcher<std::string>& violation,
                       const std::set<uint64_t>& answered = {}, int requests = 0) {
    ASSERT_NO_FATAL_FAILURE(StartAttack(attack));
    ExpectClosedByViolation(violation, answered, requests);
    ExpectAftermath();
  }

  LinkOptions options_;
  std::optional<ChildProcess> child_;
  Link link_;
  std::set<uint64_t> outstanding_;
};

// The harness itself: a raw peer that follows the protocol is answered as a real one.
TEST_F(HostilePeerTest, RawRepliesThatFollowTheProtocolAreAccepted) {
  ASSERT_NO_FATAL_FAILURE(StartAttack([](RawPeer& peer) {
    std::memset(peer.Arena(1 - peer.side()) + kFromTargetOffset, 0x5a, 100);
    for (uint64_t id : {1, 2, 3, 5}) {
      if (!peer.WriteMessage(Header(MessageKind::kReply, id))) return false;
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

// (i) Random bytes as record payloads.
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

// (ii) Crafted bad headers.
TEST_F(HostilePeerTest, RecordShorterThanAHeader) {
  ExpectViolation([](RawPeer& peer) { return peer.WriteRecord(std::vector<std::byte>(20)); },
                  HasSubstr("message of 20 bytes is shorter than the 48-byte header"));
}

TEST_F(HostilePeerTest, BadMagic) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.magic = 0xdeadbeef;
  ExpectViolation(Writes(header), HasSubstr("bad magic 0xdeadbeef"));
}

TEST_F(HostilePeerTest, WrongVersion) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.version = kMessageVersion + 1;
  ExpectViolation(Writes(header), HasSubstr(absl::StrCat("message version ", kMessageVersion + 1,
                                                         " is not supported")));
}

TEST_F(HostilePeerTest, UnknownKind) {
  MessageHeader header = Header(MessageKind::kReply, 1);
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
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.inline_length = 0;
  ExpectViolation(Writes(header, 16),
                  HasSubstr("inline length 0 does not match the 16 bytes after the header"));
}

TEST_F(HostilePeerTest, InlineLengthNearTwoToThe32) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.inline_length = 0xffffffff;
  ExpectViolation(Writes(header, 8), HasSubstr("inline length 4294967295 does not match"));
}

TEST_F(HostilePeerTest, ReplyNamingAMirrorSlot) {
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.mirror_slot = 5;
  ExpectViolation(Writes(header), HasSubstr("mirror slot 5 must be 0"));
}

TEST_F(HostilePeerTest, RequestNamingAMirrorSlotPastTheMirror) {
  MessageHeader header = Header(MessageKind::kRequest, 100);
  header.mirror_slot = 0xffffffff;
  ExpectViolation(Writes(header), HasSubstr("mirror slot 4294967295 is past the mirror"));
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
  MessageHeader header = Header(MessageKind::kReply, 1);
  header.status = 99;
  ExpectViolation(Writes(header), HasSubstr("status 99 is not a canonical status code"));
}

TEST_F(HostilePeerTest, ReleaseWithAPayload) {
  MessageHeader header = WithDma(Header(MessageKind::kRelease, 0), 0, 4096);
  header.inline_length = 8;
  ExpectViolation(Writes(header, 8), HasSubstr("inline length must be 0"));
}

// (iii) DMA descriptors out of range.
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
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), 100, 4096)),
      HasSubstr("DMA offset 100 is not page-aligned"));
}

TEST_F(HostilePeerTest, DmaLengthAboveMaxDmaSize) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaFromTarget), 0,
                                 kDefaultMaxDmaSize + 4096)),
                  HasSubstr("exceeds the link's limit"));
}

TEST_F(HostilePeerTest, DmaFlagWithoutALength) {
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kRequest, 100, kFlagDmaToTarget), 4096, 0)),
      HasSubstr("DMA flag set but DMA length is 0"));
}

TEST_F(HostilePeerTest, DmaDescriptorWithoutAFlag) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100), 4096, 4096)),
                  HasSubstr("without a DMA flag"));
}

TEST_F(HostilePeerTest, BufferLentBothWays) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRequest, 100,
                                        kFlagDmaToTarget | kFlagDmaFromTarget),
                                 0, 4096)),
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
  ExpectViolation(
      Writes(WithDma(Header(MessageKind::kReply, 1, kFlagDmaFromTarget), kFromTargetOffset, 0)),
      HasSubstr("that its request did not lend to fill"));
}

TEST_F(HostilePeerTest, ReplyThatKeepsTheBufferItWasLentToFill) {
  ExpectViolation(Writes(Header(MessageKind::kReply, kFromTargetId)),
                  HasSubstr("does not return the buffer its request lent to fill"));
}

// (iv) A reply to a request never sent.
TEST_F(HostilePeerTest, ReplyToARequestNeverSent) {
  ExpectViolation(Writes(Header(MessageKind::kReply, 1000)),
                  HasSubstr("reply 1000 answers no outstanding request"));
}

// (v) A second reply to the same request.
TEST_F(HostilePeerTest, SecondReplyToTheSameRequest) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kReply, 1)) &&
               peer.WriteMessage(Header(MessageKind::kReply, 1));
      },
      HasSubstr("reply 1 answers no outstanding request"), /*answered=*/{1});
}

// (vi) A release of a buffer never lent.
TEST_F(HostilePeerTest, ReleaseOfABufferNeverLent) {
  ExpectViolation(Writes(WithDma(Header(MessageKind::kRelease, 0), 0, 4096)),
                  HasSubstr("which this end did not lend with a reply"));
}

TEST_F(HostilePeerTest, RequestReusingTheIdOfOneAwaitingItsReply) {
  ExpectViolation(
      [](RawPeer& peer) {
        return peer.WriteMessage(Header(MessageKind::kRequest, 7)) &&
               peer.WriteMessage(Header(MessageKind::kRequest, 7));
      },
      HasSubstr("request 7 reuses the id"), /*answered=*/{}, /*requests=*/1);
}

TEST_F(HostilePeerTest, RequestWithIdZero) {
  ExpectViolation(Writes(Header(MessageKind::kRequest, 0)),
                  HasSubstr("request 0: a request's id must not be 0"));
}

// More requests awaiting a reply than the requester's mirror has slots for: the target
// keeps a bounded table.
TEST_F(HostilePeerTest, MoreRequestsThanTheMirrorHasSlots) {
  ExpectViolation(
      [](RawPeer& peer) {
        const absl::Time give_up = absl::Now() + kChildPatience;
        for (uint64_t id = 1; id <= kMirrorSlots + 1; ++id) {
          MessageHeader header = Header(MessageKind::kRequest, id);
          header.mirror_slot = static_cast<uint32_t>(id % kMirrorSlots);
          while (!peer.WriteMessage(header)) {  // the ring is full until the parent reads
            if (absl::Now() > give_up) return false;
            absl::SleepFor(absl::Microseconds(50));
          }
        }
        return true;
      },
      HasSubstr(absl::StrCat("more than ", kMirrorSlots, " requests await this end's reply")),
      /*answered=*/{}, /*requests=*/kMirrorSlots);
}

// (vii) Garbage written over the ring's control block and record headers.
TEST_F(HostilePeerTest, RingHeadBeyondCapacity) {
  ExpectViolation(
      [this](RawPeer& peer) {
        peer.Control(peer.side()).head.store(options_.ring_capacity + 64);
        peer.Wake();
        return true;
      },
      AllOf(HasSubstr("the peer broke the inbound ring"), HasSubstr("producer index")));
}

TEST_F(HostilePeerTest, RingHeadInsideARecordHeader) {
  ExpectViolation(
      [](RawPeer& peer) {
        peer.Control(peer.side()).head.store(4);
        peer.Wake();
        return true;
      },
      HasSubstr("less than a record header"));
}

TEST_F(HostilePeerTest, WholeControlBlockOverwritten) {
  ExpectViolation(
      [](RawPeer& peer) {
        std::memset(static_cast<void*>(&peer.Control(peer.side())), 0xa5,
                    sizeof(ring::RingControl));
        peer.Wake();
        return true;
      },
      AllOf(HasSubstr("the peer broke the inbound ring"), HasSubstr("producer index")));
}

TEST_F(HostilePeerTest, RecordOfLengthZero) {
  ExpectViolation(
      [](RawPeer& peer) {
        ring::RecordHeader zero{0, 0};
        std::memcpy(peer.Ring(peer.side()).data() + ring::kRecordSpaceOffset, &zero,
                    sizeof(zero));
        peer.Control(peer.side()).head.store(ring::kRecordHeaderSize);
        peer.Wake();
        return true;
      },
      HasSubstr("has length 0"));
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
