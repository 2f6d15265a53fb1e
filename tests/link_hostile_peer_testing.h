// What the hostile-peer tests of a link share: a forked child that maps the link's region
// itself and writes what it likes into the ring its end produces (RawPeer, driven by an
// Attack), headers to build its messages from, and HostilePeerTest, a fixture with
// requests outstanding when the attack comes that checks how the parent closes the link.
//
//   TEST_F(HostilePeerTest, BadMagic) {
//     MessageHeader header = Header(MessageKind::kReply, RequestId(1));
//     header.magic = 0xdeadbeef;
//     ExpectViolation(Writes(header), HasSubstr("bad magic 0xdeadbeef"));
//   }
//
// The parent must complete its outstanding calls, close the link with BAD_MESSAGE naming
// the violation, lose no buffer, and go on to use new links.
//
// Errors: the fixture reports through GoogleTest; the child reports through its exit code
// (ChildExit in tests/link_peer_testing.h). Thread safety: not thread-safe. An Attack runs
// in the child, on its RawPeer.

#ifndef SYSLINK_TESTS_LINK_HOSTILE_PEER_TESTING_H_
#define SYSLINK_TESTS_LINK_HOSTILE_PEER_TESTING_H_

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "ring/wait_mode.h"
#include "syslink/internal/link_layout.h"
#include "syslink/link.h"
#include "syslink/link_options.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"
#include "tests/link_peer_testing.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::testing {

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

  // Up to `count` records of `header` alone, published together with one wake-up: as fast
  // as a peer can write. How many fitted. Without `publish`, the next record written
  // publishes them with it.
  int WriteMessages(const MessageHeader& header, int count, bool publish = true) {
    int written = 0;
    for (; written < count; ++written) {
      absl::StatusOr<std::byte*> space = producer_->TryReserve(kMessageHeaderSize);
      if (!space.ok() || *space == nullptr) break;
      std::memcpy(*space, &header, kMessageHeaderSize);
      producer_->Commit(kMessageHeaderSize);
    }
    if (written > 0 && publish) {
      producer_->Publish();
      Wake();
    }
    return written;
  }

  // Wakes a parent asleep in poll() on its socket, as the end's own producer would.
  void Wake() const;

  // Whether the parent has closed its end (the socket hung up), without waiting.
  bool HungUp() const {
    struct pollfd p = {socket_, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
  }

 private:
  ring::SharedRegion region_;
  internal::LinkLayout layout_;
  int side_;
  int socket_;
  std::optional<ring::RingProducer> producer_;
};

// What a hostile child does to the link; false if it could not write what it meant to.
using Attack = std::function<bool(RawPeer&)>;

// In a hostile child, after the attack: waits until the parent closes the link (its
// socket reports POLLHUP). Returns kOk, or kLinkStayedOpen after kChildPatience.
int WaitForLinkToClose(int socket);

// The hostile child: adopts the end named by `token`, maps the region from the memfd the
// token names, attacks, and waits for the parent to close the link. Returns a ChildExit.
int RunHostilePeer(const std::string& token, const LinkOptions& options, const Attack& attack);

// A well-formed header of `kind` with message id `id` and `flags`, no payload.
MessageHeader Header(MessageKind kind, uint64_t id, uint16_t flags = 0);

// `header` with a DMA descriptor of `length` bytes at `offset`.
MessageHeader WithDma(MessageHeader header, uint64_t offset, uint64_t length);

// An attack that writes one message of `header` followed by `inline_bytes` bytes.
Attack Writes(MessageHeader header, size_t inline_bytes = 0);

// The id of the `n`th request (from 1) a fresh end sends: it takes mirror slot n - 1, and
// the count of requests sent goes above the slot's bits.
constexpr uint64_t RequestId(uint64_t n) { return n * kMirrorSlots + (n - 1); }

// A link whose far end a hostile child attacks, with requests outstanding when it does.
class HostilePeerTest : public ::testing::Test {
 protected:
  // The parent's outstanding requests when the attack comes: RequestId(1) to RequestId(5).
  // Request 3 lends a to-target buffer, the first allocated (offset 0 of the parent's
  // arena), request 4 a from-target buffer, the next (offset 8192).
  static constexpr uint64_t kToTargetId = RequestId(3);
  static constexpr uint64_t kFromTargetId = RequestId(4);
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
    ids.push_back(link_.Send(kFillFromTarget, {}, {*std::move(from), DmaDirection::kFromTarget}));
    ids.push_back(link_.Send(kEcho, AsBytes("five")));
    outstanding_.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_TRUE(ids[i].ok()) << ids[i].status();
      ASSERT_EQ(*ids[i], RequestId(i + 1));
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
  void ExpectClosedByViolation(const ::testing::Matcher<std::string>& violation,
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

  // StartAttack(), ExpectClosedByViolation() and ExpectAftermath() in turn.
  void ExpectViolation(const Attack& attack, const ::testing::Matcher<std::string>& violation,
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

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_LINK_HOSTILE_PEER_TESTING_H_
