// A LinkChannel's sends that find no room in the link (its server reads nothing): one
// waiting for ring space or for arena pages holds no other call past that call's deadline,
// its own wait ends at its deadline or cancel, and a lent attachment it could not send
// stays its caller's; a stream's cancel notice that finds no room waits for it (it never
// holds the reader) and still reaches the server. In each wait mode: a reader that spins
// lets such a send in as well.

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/internal/call_format.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/method_id.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/link.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;

constexpr Method kEcho{MethodIdOfPath("/syslink.rpc.test.Test/Echo"), "/syslink.rpc.test.Test/Echo",
                       MethodKind::kUnary};
constexpr Method kBidi{MethodIdOfPath("/syslink.rpc.test.Streamer/Echo"),
                       "/syslink.rpc.test.Streamer/Echo", MethodKind::kBidiStreaming};

// How long a test waits for what must happen at once (a call's 100 ms deadline): far past
// it, so that only a call that waits for the server to read fails.
constexpr absl::Duration kPatience = absl::Seconds(5);

class RoomWaitTest : public ::testing::TestWithParam<ring::WaitMode> {
 protected:
  RoomWaitTest() { Connect(absl::InfiniteDuration()); }

  // A new channel, whose end gives up on the server after `patience` (Link::SetPatience).
  void Connect(absl::Duration patience, LinkChannelOptions channel_options = {}) {
    LinkOptions options;
    options.ring_capacity = 64 * 1024;  // inline limit 16 KiB
    options.arena_size = 1 << 20;
    options.max_dma_size = 128 << 10;
    options.wait.mode = GetParam();
    absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
    ASSERT_TRUE(pair.ok()) << pair.status();
    pair->first.SetPatience(patience);
    channel_.reset();
    channel_.emplace(std::move(pair->first), channel_options);
    server_ = std::move(pair->second);  // reads nothing until the test says
  }

  // FillRing(), then calls of nothing with a 5 ms deadline until one finds no room at all:
  // whether one did.
  bool FillRingToTheBrim() {
    FillRing();
    for (int i = 0; i < 2000; ++i) {
      ClientContext probe;
      probe.set_deadline(absl::Now() + absl::Milliseconds(5));
      Text empty, response;
      absl::Status s = channel_->Call(kEcho, empty, &response, &probe);
      if (absl::IsDeadlineExceeded(s) && s.message().find("no room") != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  // The server reads for up to `patience`, running `between` after each look: how many
  // stream cancel notices came (it stops at the first).
  int ReadCancelNotices(absl::Duration patience, const std::function<void()>& between = {}) {
    int notices = 0;
    for (absl::Time until = absl::Now() + patience; absl::Now() < until && notices == 0;) {
      absl::StatusOr<Message> message = server_.Receive(absl::Now() + absl::Milliseconds(5));
      if (between) between();
      if (!message.ok()) {
        if (absl::IsDeadlineExceeded(message.status())) continue;
        break;
      }
      if (message->kind != MessageKind::kRequest ||
          message->data.size() < internal::kCallHeaderSize) {
        continue;
      }
      internal::CallHeader header;
      std::memcpy(&header, message->data.data(), sizeof(header));
      if (header.flags & internal::kCallStreamCancel) ++notices;
    }
    return notices;
  }

  // A call of `bytes` with no deadline: whether it ended (its status) within kPatience.
  std::optional<absl::Status> CallWithoutDeadline(size_t bytes) {
    absl::Notification returned;
    absl::Status status;
    std::thread caller([&] {
      Text request, response;
      request.set_blob(std::string(bytes, 'c'));
      status = channel_->Call(kEcho, request, &response, nullptr);
      returned.Notify();
    });
    const bool in_time = returned.WaitForNotificationWithTimeout(kPatience);
    server_.Close();  // every wait left ends
    caller.join();
    if (!in_time) return std::nullopt;
    return status;
  }

  // Fills the request ring with async calls the server never reads: four of 15 KiB.
  void FillRing() {
    Text request;
    request.set_blob(std::string(15 * 1024, 'f'));
    for (int i = 0; i < 4; ++i) {
      channel_->CallAsync(kEcho, request, &filler_responses_[i], nullptr, [](absl::Status) {});
    }
  }

  // A call of `bytes` with a deadline 100 ms away, on a thread of its own: its status, or
  // nothing if it has not returned within kPatience. `before_close` runs once it returned
  // (or that time passed), before the server closes its end.
  std::optional<absl::Status> CallWithDeadline(size_t bytes,
                                               const std::function<void()>& before_close = {}) {
    absl::Notification returned;
    absl::Status status;
    std::thread caller([&] {
      ClientContext context;
      context.set_deadline(absl::Now() + absl::Milliseconds(100));
      Text request, response;
      request.set_blob(std::string(bytes, 'c'));
      status = channel_->Call(kEcho, request, &response, &context);
      returned.Notify();
    });
    const bool in_time = returned.WaitForNotificationWithTimeout(kPatience);
    if (before_close) before_close();
    server_.Close();  // every wait left ends
    caller.join();
    if (!in_time) return std::nullopt;
    return status;
  }

  // Starts `call` on a thread of its own, and returns once the thread waits in it (asleep:
  // in hybrid and blocking modes; a spinning wait cannot be told from a running one).
  std::thread StartBlocked(std::function<void()> call) {
    std::atomic<pid_t> tid{0};
    std::thread thread([&tid, call = std::move(call)] {
      tid.store(gettid());
      call();
    });
    while (tid.load() == 0) std::this_thread::yield();
    if (GetParam() != ring::WaitMode::kSpin) {
      EXPECT_TRUE(::syslink::testing::Eventually(
          [&] { return ::syslink::testing::ThreadState(tid.load()) == 'S'; }));
    }
    return thread;
  }

  std::optional<LinkChannel> channel_;
  Link server_;
  Text filler_responses_[4];
};

// A call with no deadline waits for ring room the server never makes; a call with a
// deadline, on another thread, ends at its deadline.
TEST_P(RoomWaitTest, ACallWaitingForRingRoomHoldsNoOtherCallPastItsDeadline) {
  FillRing();
  absl::Status blocked_status;
  std::atomic<bool> blocked_returned{false};
  std::thread blocked = StartBlocked([&] {
    Text request, response;
    request.set_blob(std::string(15 * 1024, 'b'));
    blocked_status = channel_->Call(kEcho, request, &response, nullptr);  // waits for room
    blocked_returned = true;
  });
  bool returned_first = false;
  std::optional<absl::Status> status =
      CallWithDeadline(10, [&] { returned_first = !blocked_returned.load(); });
  blocked.join();
  ASSERT_TRUE(status.has_value()) << "the call waited for the channel a send waiting for room held";
  EXPECT_EQ(status->code(), absl::StatusCode::kDeadlineExceeded) << *status;
  EXPECT_TRUE(returned_first) << "the blocked call was not waiting: " << blocked_status;
  EXPECT_FALSE(blocked_status.ok());  // the server closed without reading
}

// The reader (a sync call with no deadline, spinning in kSpin mode) lets a send that waits
// for room in, and that send ends at its own deadline.
TEST_P(RoomWaitTest, AReaderLetsASendWaitingForRoomEndAtItsDeadline) {
  std::thread reader([&] {
    Text request, response;
    request.set_text("never answered");
    (void)channel_->Call(kEcho, request, &response, nullptr);
  });
  absl::StatusOr<Message> first = server_.Receive(absl::Now() + kPatience);
  ASSERT_TRUE(first.ok()) << first.status();  // the reader's call is out: it reads
  FillRing();
  std::optional<absl::Status> status = CallWithDeadline(15 * 1024);
  reader.join();
  ASSERT_TRUE(status.has_value()) << "the send waiting for room waited past its deadline";
  EXPECT_EQ(status->code(), absl::StatusCode::kDeadlineExceeded) << *status;
}

// A spilled call (too large for the ring) with no deadline waits for arena pages while the
// arena is lent out; a call with a deadline ends at its deadline.
TEST_P(RoomWaitTest, ACallWaitingForArenaRoomHoldsNoOtherCallPastItsDeadline) {
  std::vector<Attachment> held;  // the arena full
  for (absl::StatusOr<Attachment> a;
       held.size() < 64 && (a = channel_->AllocateAttachment(128 << 10)).ok();) {
    held.push_back(*std::move(a));
  }
  ASSERT_FALSE(held.empty());
  absl::Status blocked_status;
  std::atomic<bool> blocked_returned{false};
  std::thread blocked = StartBlocked([&] {
    Text request, response;
    request.set_blob(std::string(20 * 1024, 's'));  // spilled: past the 16 KiB inline limit
    blocked_status = channel_->Call(kEcho, request, &response, nullptr);
    blocked_returned = true;
  });
  bool returned_first = false;
  std::optional<absl::Status> status =
      CallWithDeadline(10, [&] { returned_first = !blocked_returned.load(); });
  held.clear();
  blocked.join();
  ASSERT_TRUE(status.has_value()) << "the call waited for the channel a send waiting for room held";
  EXPECT_EQ(status->code(), absl::StatusCode::kDeadlineExceeded) << *status;
  EXPECT_TRUE(returned_first) << "the blocked call was not waiting: " << blocked_status;
  EXPECT_FALSE(blocked_status.ok());  // the server closed without reading
}

// A call whose attachment was lent (a buffer of the channel's arena) and that could not be
// sent by its deadline gives the attachment back to its context, bytes and all.
TEST_P(RoomWaitTest, ASendThatFailsLeavesALentAttachmentWithItsCaller) {
  FillRing();
  absl::StatusOr<Attachment> attachment = channel_->AllocateAttachment(8192);
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  std::memset(attachment->data().data(), 'a', 8192);
  ClientContext context;
  context.set_deadline(absl::Now() + absl::Milliseconds(50));
  context.request_attachment() = *std::move(attachment);
  Text request, response;
  request.set_blob(std::string(15 * 1024, 'r'));
  absl::Status status = channel_->Call(kEcho, request, &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  ASSERT_EQ(context.request_attachment().size(), 8192u);
  EXPECT_EQ(context.request_attachment().data()[8191], std::byte{'a'});
  server_.Close();
}

// A cancel ends a send's wait for room.
TEST_P(RoomWaitTest, ACancelEndsAWaitForRoom) {
  FillRing();
  ClientContext context;
  absl::Notification returned;
  absl::Status status;
  std::thread caller([&] {
    Text request, response;
    request.set_blob(std::string(15 * 1024, 'r'));
    status = channel_->Call(kEcho, request, &response, &context);
    returned.Notify();
  });
  context.TryCancel();
  const bool in_time = returned.WaitForNotificationWithTimeout(kPatience);
  server_.Close();
  caller.join();
  ASSERT_TRUE(in_time) << "the cancelled call waited on for room";
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
}

// A stream cancelled while the ring has no room: its end comes at once (the opening
// request's CANCELLED), and its cancel notice goes to the server once it reads on.
TEST_P(RoomWaitTest, AStreamCancelledWhileTheRingIsFullStillTellsTheServer) {
  ClientContext stream_context;
  std::unique_ptr<ClientStream> stream =
      channel_->OpenStream(kBidi, nullptr, nullptr, &stream_context);
  ASSERT_TRUE(FillRingToTheBrim()) << "the ring never filled";
  stream_context.TryCancel();
  absl::Notification finished;
  absl::Status final_status;
  std::thread finisher([&] {
    final_status = stream->Finish();
    finished.Notify();
  });
  const bool finished_in_time = finished.WaitForNotificationWithTimeout(kPatience);
  // The server reads everything now; the notice that waited for room comes among it.
  const int cancel_notices = ReadCancelNotices(absl::Seconds(2));
  server_.Close();
  finisher.join();
  EXPECT_TRUE(finished_in_time) << "Finish() waited for the server";
  EXPECT_EQ(final_status.code(), absl::StatusCode::kCancelled) << final_status;
  EXPECT_EQ(cancel_notices, 1) << "the server was never told the stream was cancelled";
  stream.reset();
}

// Without a completion thread, a caller's Drain() sends a notice that waited for room,
// though no async call is pending.
TEST_P(RoomWaitTest, WithoutACompletionThreadDrainSendsAQueuedCancelNotice) {
  Connect(absl::InfiniteDuration(), {.completion_thread = false});
  ClientContext stream_context;
  std::unique_ptr<ClientStream> stream =
      channel_->OpenStream(kBidi, nullptr, nullptr, &stream_context);
  ASSERT_TRUE(FillRingToTheBrim()) << "the ring never filled";
  stream_context.TryCancel();
  absl::Status final_status = stream->Finish();
  EXPECT_EQ(final_status.code(), absl::StatusCode::kCancelled) << final_status;
  const int notices = ReadCancelNotices(
      absl::Seconds(2), [&] { (void)channel_->Drain(absl::Now() + absl::Milliseconds(5)); });
  EXPECT_EQ(notices, 1) << "Drain() never sent the cancel notice that waited for room";
  server_.Close();
  stream.reset();
}

// The end's patience (Link::SetPatience) counts across the channel's slices: a server
// that reads nothing of the ring for that long is given up on, and the call fails.
TEST_P(RoomWaitTest, TheEndsPatienceEndsAWaitForRingRoom) {
  Connect(absl::Milliseconds(100));
  FillRing();
  std::optional<absl::Status> status = CallWithoutDeadline(15 * 1024);
  ASSERT_TRUE(status.has_value()) << "the wait for room outlasted the end's patience";
  EXPECT_NE(status->message().find("patience"), std::string::npos) << *status;
}

// The same for arena pages a server keeps.
TEST_P(RoomWaitTest, TheEndsPatienceEndsAWaitForArenaRoom) {
  Connect(absl::Milliseconds(100));
  std::vector<Attachment> held;  // the arena full
  for (absl::StatusOr<Attachment> a;
       held.size() < 64 && (a = channel_->AllocateAttachment(128 << 10)).ok();) {
    held.push_back(*std::move(a));
  }
  std::optional<absl::Status> status = CallWithoutDeadline(20 * 1024);  // spilled
  ASSERT_TRUE(status.has_value()) << "the wait for arena room outlasted the end's patience";
  EXPECT_NE(status->message().find("patience"), std::string::npos) << *status;
}

// A call waiting for room ends when its server does: here the arena is full and the
// server closes its end.
TEST_P(RoomWaitTest, AWaitForArenaRoomEndsWhenTheServerCloses) {
  std::vector<Attachment> held;  // the arena full
  for (absl::StatusOr<Attachment> a;
       held.size() < 64 && (a = channel_->AllocateAttachment(128 << 10)).ok();) {
    held.push_back(*std::move(a));
  }
  absl::Notification returned;
  absl::Status status;
  std::thread blocked = StartBlocked([&] {
    Text request, response;
    request.set_blob(std::string(20 * 1024, 's'));  // spilled
    status = channel_->Call(kEcho, request, &response, nullptr);
    returned.Notify();
  });
  server_.Close();
  const bool in_time = returned.WaitForNotificationWithTimeout(kPatience);
  held.clear();  // lets a wait that missed the close end
  blocked.join();
  ASSERT_TRUE(in_time) << "the call waited for arena room on a closed link";
  EXPECT_FALSE(status.ok());
}

// The same for ring space.
TEST_P(RoomWaitTest, AWaitForRingRoomEndsWhenTheServerCloses) {
  FillRing();
  absl::Notification returned;
  absl::Status status;
  std::thread blocked = StartBlocked([&] {
    Text request, response;
    request.set_blob(std::string(15 * 1024, 'b'));
    status = channel_->Call(kEcho, request, &response, nullptr);
    returned.Notify();
  });
  server_.Close();
  const bool in_time = returned.WaitForNotificationWithTimeout(kPatience);
  blocked.join();
  ASSERT_TRUE(in_time) << "the call waited for ring room on a closed link";
  EXPECT_FALSE(status.ok());
}

INSTANTIATE_TEST_SUITE_P(Modes, RoomWaitTest,
                         ::testing::Values(ring::WaitMode::kSpin, ring::WaitMode::kHybrid,
                                           ring::WaitMode::kBlocking),
                         [](const auto& info) {
                           return std::string(ring::WaitModeName(info.param));
                         });

}  // namespace
}  // namespace syslink::rpc
