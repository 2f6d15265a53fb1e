// Links within one process: both ends here, each with its own mapping of the region.

#include "syslink/link.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/end_transfer.h"
#include "syslink/status.h"
#include "tests/support/eventually.h"
#include "tests/support/link_pair.h"

namespace syslink {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::MakePair;
using ::syslink::testing::Options;
using ::syslink::testing::Soon;
using ::testing::HasSubstr;

// Small enough that a test fills them: a 64 KiB ring each way, a 1 MiB arena per end.
LinkOptions Small(ring::WaitMode mode = ring::WaitMode::kHybrid) {
  return Options(mode, 64 * 1024, 1024 * 1024);
}

TEST(LinkTest, RequestAndReply) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<uint64_t> id = client.Send(7, AsBytes("ping"));
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->kind, MessageKind::kRequest);
  EXPECT_EQ(request->id, *id);
  EXPECT_EQ(request->command, 7u);
  EXPECT_EQ(request->DataAsString(), "ping");
  ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), AsBytes("pong")).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->kind, MessageKind::kReply);
  EXPECT_EQ(reply->id, *id);
  EXPECT_EQ(reply->command, 7u);
  EXPECT_TRUE(reply->status.ok());
  EXPECT_FALSE(reply->synthetic);
  EXPECT_EQ(reply->DataAsString(), "pong");
}

// A reply may carry the request's own bytes (an echo). When the reply must wait for ring
// space, the end hands the request's record back to the peer first, so it must copy the
// bytes aside before: here the peer overwrites that very record while the reply waits.
TEST(LinkTest, EchoThatWaitsForSpaceKeepsTheRequestBytes) {
  LinkOptions options;
  options.ring_capacity = 4096;
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto& [client, server] = *pair;
  const std::string asked(1000, 'a');
  absl::StatusOr<uint64_t> id = client.Send(1, AsBytes(asked));  // ring bytes [0, 1056)
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok()) << request.status();
  // Fill the server's outbound ring without waiting (a Send that does not wait keeps the
  // request's record): the echo of 1,000 bytes no longer fits.
  const std::string filler(1000, 'f');
  int sent = 0;
  while (server.Send(2, AsBytes(filler), {}, absl::InfinitePast()).ok()) ++sent;
  ASSERT_EQ(sent, 3);
  absl::Status echoed;
  std::thread replier([&] { echoed = server.Reply(request->id, absl::OkStatus(), request->data); });
  // Up to the end of the server's inbound ring (less the 8 bytes of the header after the
  // last record), then a record at 0, over the request: it fits only once the waiting reply
  // has handed the request's record back.
  ASSERT_TRUE(client.Send(3, AsBytes(std::string(4096 - 1056 - 64, 'x'))).ok());
  // 992 bytes: with its headers the record ends 8 bytes short of the request's end. Sent
  // without waiting, which would read the server's requests ahead and so let its reply
  // go without a wait.
  const std::string last(992, 'z');
  ASSERT_TRUE(
      Eventually([&] { return client.Send(4, AsBytes(last), {}, absl::InfinitePast()).ok(); }));
  std::string answer;
  while (answer.empty()) {  // the server's three requests, then the echo
    absl::StatusOr<Message> message = client.Receive(Soon());
    ASSERT_TRUE(message.ok()) << message.status();
    if (message->kind == MessageKind::kReply && message->id == *id) {
      answer = message->DataAsString();
    }
  }
  replier.join();
  EXPECT_TRUE(echoed.ok()) << echoed;
  EXPECT_EQ(answer, asked);
}

TEST(LinkTest, PayloadsWrittenInPlace) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<uint64_t> id = client.SendInPlace(3, 5, [](std::span<std::byte> out) {
    ASSERT_EQ(out.size(), 5u);
    std::memcpy(out.data(), "abcde", 5);
  });
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->DataAsString(), "abcde");
  ASSERT_TRUE(server
                  .ReplyInPlace(request->id, 3,
                                [](std::span<std::byte> out) { std::memcpy(out.data(), "xyz", 3); })
                  .ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->DataAsString(), "xyz");
}

TEST(LinkTest, ErrorStatusTravelsWithItsMessage) {
  auto [client, server] = MakePair(Small());
  ASSERT_TRUE(client.Send(1, AsBytes("x")).ok());
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE(server.Reply(request->id, absl::NotFoundError("no such thing"), {}).ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, absl::NotFoundError("no such thing"));
}

TEST(LinkTest, CallGetsItsReplyAndKeepsOtherMessages) {
  auto [a, b] = MakePair(Small());
  // b sends a request of its own before answering a's call.
  ASSERT_TRUE(b.Send(99, AsBytes("from b")).ok());
  absl::StatusOr<uint64_t> first = a.Send(1, AsBytes("async"));
  ASSERT_TRUE(first.ok());
  absl::StatusOr<Message> r1 = b.Receive(Soon());
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(b.Reply(r1->id, absl::OkStatus(), AsBytes("async reply")).ok());

  // a's Call must skip b's request and the reply to `first`, and keep both.
  std::thread answer([&b] {
    absl::StatusOr<Message> r2 = b.Receive(Soon());
    ASSERT_TRUE(r2.ok());
    ASSERT_TRUE(b.Reply(r2->id, absl::OkStatus(), AsBytes("call reply")).ok());
  });
  absl::StatusOr<Message> reply = a.Call(2, AsBytes("call"), {}, Soon());
  answer.join();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->DataAsString(), "call reply");
  absl::StatusOr<Message> kept1 = a.Receive(Soon());
  absl::StatusOr<Message> kept2 = a.Receive(Soon());
  ASSERT_TRUE(kept1.ok() && kept2.ok());
  EXPECT_EQ(kept1->kind, MessageKind::kRequest);
  EXPECT_EQ(kept1->DataAsString(), "from b");
  EXPECT_EQ(kept2->kind, MessageKind::kReply);
  EXPECT_EQ(kept2->id, *first);
  EXPECT_EQ(kept2->DataAsString(), "async reply");
}

TEST(LinkTest, CallDeadlineGivesSyntheticReplyAndDropsTheLateOne) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<Message> reply =
      client.Call(5, AsBytes("slow"), {}, absl::Now() + absl::Milliseconds(20));
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->synthetic);
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), AsBytes("too late")).ok());
  // The late reply is dropped: nothing to receive, the link stays open.
  absl::StatusOr<Message> nothing = client.Receive(absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(nothing.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(client.status().ok());
  EXPECT_EQ(client.stats().late_replies_dropped, 1u);
}

TEST(LinkTest, SendDeadlineDeliversSyntheticReplyThroughReceive) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<uint64_t> id =
      client.Send(5, AsBytes("x"), {}, absl::Now() + absl::Milliseconds(10));
  ASSERT_TRUE(id.ok());
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->id, *id);
  EXPECT_TRUE(reply->synthetic);
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(LinkTest, CancelDeliversCancelled) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<uint64_t> id = client.Send(5, AsBytes("x"));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(client.Cancel(*id).ok());
  EXPECT_EQ(client.Cancel(*id).code(), absl::StatusCode::kNotFound);
  absl::StatusOr<Message> reply = client.Receive(Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kCancelled);
}

TEST(LinkTest, ClosedPeerCompletesOutstandingWithPeerDied) {
  auto [client, server] = MakePair(Small());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(*client.Send(1, AsBytes("x")));
  server.Close();
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->id, ids[i]);
    EXPECT_TRUE(IsPeerDied(reply->status)) << reply->status;
    EXPECT_EQ(reply->status.code(), absl::StatusCode::kUnavailable);
  }
  absl::StatusOr<Message> after = client.Receive(Soon());
  EXPECT_TRUE(IsPeerDied(after.status())) << after.status();
  EXPECT_TRUE(IsPeerDied(client.Send(1, AsBytes("x")).status()));
}

TEST(LinkTest, DmaToTargetAndFromTarget) {
  auto [client, server] = MakePair(Small());
  absl::StatusOr<DmaBuffer> out = client.AllocateBuffer(10000);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->capacity(), 12288u);
  std::memset(out->data().data(), 0x42, out->size());
  std::thread serve([&server] {
    absl::StatusOr<Message> request = server.Receive(Soon());
    ASSERT_TRUE(request.ok());
    ASSERT_EQ(request->dma_direction, DmaDirection::kToTarget);
    ASSERT_EQ(request->peer_buffer.size(), 10000u);
    int sum = 0;
    for (std::byte b : request->peer_buffer.data()) sum += b == std::byte{0x42};
    std::string text = std::to_string(sum);
    ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), AsBytes(text)).ok());

    absl::StatusOr<Message> fill = server.Receive(Soon());
    ASSERT_TRUE(fill.ok());
    ASSERT_EQ(fill->dma_direction, DmaDirection::kFromTarget);
    std::memset(fill->peer_buffer.data().data(), 0x17, 100);
    ASSERT_TRUE(server.Reply(fill->id, absl::OkStatus(), {}, {.filled = 100}).ok());
  });
  uint64_t free_before = client.stats().arena_free_bytes;
  absl::StatusOr<Message> reply =
      client.Call(1, {}, {std::move(*out), DmaDirection::kToTarget}, Soon());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->DataAsString(), "10000");
  ASSERT_TRUE(reply->returned_buffer.valid());
  DmaBuffer back = std::move(reply->returned_buffer);
  absl::StatusOr<Message> filled =
      client.Call(2, {}, {std::move(back), DmaDirection::kFromTarget}, Soon());
  serve.join();
  ASSERT_TRUE(filled.ok());
  ASSERT_TRUE(filled->returned_buffer.valid());
  EXPECT_EQ(filled->returned_buffer.size(), 100u);
  EXPECT_EQ(filled->returned_buffer.data()[99], std::byte{0x17});
  filled->returned_buffer = DmaBuffer();
  EXPECT_GT(client.stats().arena_free_bytes, free_before);
  EXPECT_EQ(client.stats().arena_free_bytes, client.stats().arena_bytes);
}

// A buffer lent without wanting it back is free again the moment its reply is read, even
// if the reply itself waits to be received: an AllocateBuffer() waiting for room reads
// replies ahead and finds the pages.
TEST(LinkTest, ALoanNotWantedBackReturnsToTheArenaWhenItsReplyIsRead) {
  auto [client, server] = MakePair(Small());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 8; ++i) {  // the whole 1 MiB arena, lent
    absl::StatusOr<DmaBuffer> buffer = client.AllocateBuffer(128 * 1024);
    ASSERT_TRUE(buffer.ok()) << buffer.status();
    absl::StatusOr<uint64_t> id = client.Send(
        1, {},
        {.buffer = *std::move(buffer), .direction = DmaDirection::kToTarget, .wanted_back = false});
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  EXPECT_EQ(client.stats().arena_free_bytes, 0u);
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<Message> request = server.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
    ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), AsBytes("done")).ok());
  }
  // No Receive() yet: the buffer comes from the replies this call reads ahead.
  absl::StatusOr<DmaBuffer> again = client.AllocateBuffer(128 * 1024, Soon());
  ASSERT_TRUE(again.ok()) << again.status();
  *again = DmaBuffer();
  for (uint64_t id : ids) {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->id, id);
    EXPECT_EQ(reply->DataAsString(), "done");
    EXPECT_FALSE(reply->returned_buffer.valid());
  }
  EXPECT_EQ(client.stats().arena_free_bytes, client.stats().arena_bytes);
  // What a kFromTarget loan brings back is its point: it must be wanted back.
  absl::StatusOr<DmaBuffer> fill = client.AllocateBuffer(4096);
  ASSERT_TRUE(fill.ok()) << fill.status();
  absl::StatusOr<uint64_t> refused = client.Send(
      1, {},
      {.buffer = *std::move(fill), .direction = DmaDirection::kFromTarget, .wanted_back = false});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
}

// A requester that waits for ring space reads the replies that have come meanwhile
// (kept for Receive(), in order): its peer may be waiting to write more of them, and
// reads no further requests until it can.
TEST(LinkTest, ASenderWaitingForRoomReadsRepliesAheadSoThePeerCanGoOn) {
  auto [client, server] = MakePair(Small());
  const std::string big(12 * 1024, 'r');
  std::atomic<int> answered{0};
  std::thread serve([&] {
    // Answers each request with 12 KiB before it reads the next: five answers fill the
    // 64 KiB ring, and the sixth waits for the client to read.
    for (int i = 0; i < 40; ++i) {
      absl::StatusOr<Message> request = server.Receive(Soon());
      ASSERT_TRUE(request.ok()) << request.status();
      ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), AsBytes(big)).ok());
      answered.fetch_add(1);
    }
  });
  std::vector<uint64_t> ids;
  for (int i = 0; i < 40; ++i) {  // never receiving: 40 x 12 KiB is far beyond either ring
    absl::StatusOr<uint64_t> id = client.Send(2, AsBytes(big), {}, Soon());
    EXPECT_TRUE(id.ok()) << "request " << i << ": " << id.status();
    if (!id.ok()) break;
    ids.push_back(*id);
  }
  for (uint64_t id : ids) {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->id, id);
    EXPECT_EQ(reply->DataAsString(), big);
  }
  serve.join();  // (its Receive() gives up, if a request never came)
  EXPECT_EQ(answered.load(), 40);
}

// A reply that finds no room in the ring for the end's patience gives up on the peer: the
// link closes, and the peer, reading at last, finds the replies that fitted, then PEER_DIED.
TEST(LinkTest, AReplyWaitingLongerThanThePatienceClosesTheLink) {
  auto [client, server] = MakePair(Small());
  server.SetPatience(absl::Milliseconds(100));
  const std::string big(12 * 1024, 'r');
  std::vector<uint64_t> ids;
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<uint64_t> id = client.Send(2, {}, {}, Soon());
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  int replied = 0;
  absl::Status gave_up;
  for (int i = 0; i < 8 && gave_up.ok(); ++i) {
    absl::StatusOr<Message> request = server.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
    gave_up = server.Reply(request->id, absl::OkStatus(), AsBytes(big));
    if (gave_up.ok()) ++replied;
  }
  EXPECT_EQ(replied, 5);  // five fill the 64 KiB ring
  EXPECT_EQ(gave_up.code(), absl::StatusCode::kAborted) << gave_up;
  EXPECT_THAT(gave_up.message(), HasSubstr("patience"));
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->id, ids[i]);
    if (i < replied) {
      EXPECT_TRUE(reply->status.ok()) << reply->status;
      EXPECT_EQ(reply->DataAsString(), big);
    } else {
      EXPECT_TRUE(IsPeerDied(reply->status)) << "reply " << i << ": " << reply->status;
    }
  }
}

// The patience counts time spent waiting: tries that do not wait, however far apart, never
// add up to it. Waits do, across calls, until the peer makes room.
TEST(LinkTest, ThePatienceCountsWaitsNotTriesNorTheTimeBetween) {
  auto [client, server] = MakePair(Small());
  client.SetPatience(absl::Milliseconds(100));
  std::vector<DmaBuffer> held;  // the arena full
  for (absl::StatusOr<DmaBuffer> b; (b = client.AllocateBuffer(128 * 1024)).ok();) {
    held.push_back(*std::move(b));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.AllocateBuffer(4096).status().code(), absl::StatusCode::kResourceExhausted);
    absl::SleepFor(absl::Milliseconds(60));  // no one waits meanwhile
  }
  EXPECT_TRUE(client.status().ok()) << client.status();
  // Waits of 40 ms, one after another: the third passes the patience.
  absl::Status last;
  int waits = 0;
  while (last.code() != absl::StatusCode::kAborted && waits < 10) {
    last = client.AllocateBuffer(4096, absl::Now() + absl::Milliseconds(40)).status();
    ++waits;
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kAborted) << last;
  EXPECT_THAT(last.message(), HasSubstr("patience"));
  EXPECT_GE(waits, 2);  // one wait of 40 ms is not the patience
}

TEST(LinkTest, ReplyBufferIsReleasedBackToItsOwner) {
  auto [client, server] = MakePair(Small());
  ASSERT_TRUE(client.Send(1, {}).ok());
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok());
  absl::StatusOr<DmaBuffer> attach = server.AllocateBuffer(4096);
  ASSERT_TRUE(attach.ok());
  std::memcpy(attach->data().data(), "hello", 5);
  attach->resize(5);
  ASSERT_TRUE(server.Reply(request->id, absl::OkStatus(), {}, {.attach = *std::move(attach)}).ok());
  EXPECT_LT(server.stats().arena_free_bytes, server.stats().arena_bytes);
  {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(reply->peer_buffer.valid());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(reply->peer_buffer.data().data()), 5),
              "hello");
  }  // dropping the reply releases the buffer
  absl::StatusOr<Message> nothing = server.Receive(absl::Now() + absl::Milliseconds(10));
  EXPECT_EQ(nothing.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(server.stats().arena_free_bytes, server.stats().arena_bytes);
}

TEST(LinkTest, ArenaExhaustion) {
  auto [client, server] = MakePair(Small());
  std::vector<DmaBuffer> held;
  while (true) {
    absl::StatusOr<DmaBuffer> b = client.AllocateBuffer(128 * 1024);
    if (!b.ok()) {
      EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
      break;
    }
    held.push_back(*std::move(b));
  }
  EXPECT_EQ(held.size(), 8u);  // 1 MiB arena
  EXPECT_EQ(client.AllocateBuffer(200 * 1024).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LinkTest, ReplyToUnknownRequestIsRefused) {
  auto [client, server] = MakePair(Small());
  absl::Status s = server.Reply(12345, absl::OkStatus(), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("no request 12345"));
}

TEST(LinkTest, InlinePayloadTooLargeIsRefused) {
  auto [client, server] = MakePair(Small());
  std::string big(100 * 1024, 'x');
  absl::StatusOr<uint64_t> id = client.Send(1, AsBytes(big));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("DMA buffer"));
}

TEST(LinkTest, PollableDescriptor) {
  auto [client, server] = MakePair(Small(ring::WaitMode::kBlocking));
  ASSERT_TRUE(server.PrepareToPoll());
  struct pollfd p = {server.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  ASSERT_TRUE(client.Send(1, AsBytes("wake")).ok());
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  absl::StatusOr<Message> request = server.Receive(absl::InfinitePast());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "wake");
  EXPECT_EQ(server.Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

// A wait of another kind between two PrepareToPoll() calls (here an AllocateBuffer() that
// sleeps on the socket for room) takes the announcement of the first: the second must
// announce again, or a message sent next would wake no poll().
TEST(LinkTest, APollAfterAnotherWaitStillWakesForTheNextMessage) {
  auto [client, server] = MakePair(Small());
  ASSERT_TRUE(server.PrepareToPoll());
  std::vector<DmaBuffer> held;
  while (true) {
    absl::StatusOr<DmaBuffer> buffer = server.AllocateBuffer(128 * 1024);
    if (!buffer.ok()) break;
    held.push_back(*std::move(buffer));
  }
  EXPECT_EQ(server.AllocateBuffer(4096, absl::Now() + absl::Milliseconds(20)).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(client.Send(1, AsBytes("wake")).ok());
  if (server.PrepareToPoll()) {
    struct pollfd p = {server.fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 5000), 1) << "the message woke no poll()";
  }
  absl::StatusOr<Message> request = server.Receive(absl::InfinitePast());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->DataAsString(), "wake");
}

TEST(LinkTest, ForkedChildCannotUseInheritedEnd) {
  auto [client, server] = MakePair(Small());
  pid_t child = fork();
  if (child == 0) {
    absl::StatusOr<uint64_t> id = client.Send(1, AsBytes("from child"));
    bool refused = id.status().code() == absl::StatusCode::kFailedPrecondition;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The parent's end still works.
  ASSERT_TRUE(client.Send(1, AsBytes("from parent")).ok());
  absl::StatusOr<Message> request = server.Receive(Soon());
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->DataAsString(), "from parent");
}

}  // namespace
}  // namespace syslink
