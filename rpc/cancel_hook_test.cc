// ServerContext::OnCancel(): when the hook runs, and that a link and an in-process channel
// run it when the caller leaves a stream (cancels it, or its process is killed) or the
// server shuts down, and a link when the caller leaves a unary call served by workers
// (cancels it, its deadline passes, its process is killed) or the server shuts down; an
// in-process channel when the caller cancels a unary call. Each transport
// test waits for a method that nothing but its hook wakes: without the hook it would hang.
// (rpc/grpc/cancel_hook_grpc_test.cc does the same over gRPC.)

#include <unistd.h>

#include <atomic>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/in_process_channel.h"
#include "rpc/internal/call_format.h"
#include "rpc/internal/server_context_access.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/testdata/cancel_waiter.h"
#include "rpc/testdata/countdown_streamer.h"
#include "syslink/end_transfer.h"
#include "syslink/link.h"
#include "syslink/mirror_format.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"
#include "tests/support/process_event.h"

namespace syslink::rpc {
namespace {

using internal::ServerContextAccess;

TEST(OnCancelTest, RunsOnceWhenTheCallIsCancelled) {
  ServerContext context;
  int runs = 0;
  context.OnCancel([&runs] { ++runs; });
  EXPECT_EQ(runs, 0);
  ServerContextAccess::MarkCancelled(context);
  EXPECT_EQ(runs, 1);
  ServerContextAccess::MarkCancelled(context);  // a second transport's word: no second run
  EXPECT_EQ(runs, 1);
}

TEST(OnCancelTest, RunsAtOnceOnACallCancelledAlready) {
  ServerContext cancelled;
  ServerContextAccess::MarkCancelled(cancelled);
  int runs = 0;
  cancelled.OnCancel([&runs] { ++runs; });
  EXPECT_EQ(runs, 1);

  ServerContext past_deadline(PeerIdentity{}, absl::Now() - absl::Seconds(1));
  past_deadline.OnCancel([&runs] { ++runs; });
  EXPECT_EQ(runs, 2);
}

TEST(OnCancelTest, ALaterHookReplacesAndNullRemoves) {
  ServerContext context;
  int first = 0, second = 0;
  context.OnCancel([&first] { ++first; });
  context.OnCancel([&second] { ++second; });
  ServerContextAccess::MarkCancelled(context);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);

  ServerContext removed;
  removed.OnCancel([&first] { ++first; });
  removed.OnCancel(nullptr);
  ServerContextAccess::MarkCancelled(removed);
  EXPECT_EQ(first, 0);
  EXPECT_TRUE(removed.cancelled());
}

TEST(OnCancelTest, RemovingWaitsForARunInProgress) {
  ServerContext context;
  absl::Notification running, release;
  bool finished = false;
  context.OnCancel([&] {
    running.Notify();
    release.WaitForNotification();
    finished = true;
  });
  std::thread canceller([&] { ServerContextAccess::MarkCancelled(context); });
  running.WaitForNotification();
  std::atomic<pid_t> remover_tid{0};
  bool finished_when_removed = false;
  std::thread remover([&] {
    remover_tid.store(gettid());
    context.OnCancel(nullptr);
    finished_when_removed = finished;
  });
  // The remover waits for the hook's lock, asleep, until the hook is let go.
  ASSERT_TRUE(syslink::testing::Eventually([&] {
    return remover_tid.load() != 0 && syslink::testing::ThreadState(remover_tid) == 'S';
  }));
  release.Notify();
  remover.join();
  canceller.join();
  EXPECT_TRUE(finished_when_removed);
}

// A CancelWaiter served on a link, and a stub on the link's other end.
class LinkCancelHookTest : public ::testing::Test {
 protected:
  explicit LinkCancelHookTest(ServerOptions options = {}) : server_(options) {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok()) << pair.status();
    server_.ServeLink(&service_, std::move(pair->second));
    channel_ = std::make_shared<LinkChannel>(std::move(pair->first));
    stub_ = std::make_unique<test::StreamerStub>(channel_);
  }

  // Opens Forever and reads its first message: the method has set its hook.
  std::unique_ptr<ClientReader<test::Number>> OpenForever() {
    auto reader = stub_->Forever(test::Number(), &context_);
    test::Number number;
    EXPECT_TRUE(reader->Read(&number));
    return reader;
  }

  test::CancelWaiter service_;
  Server server_;
  std::shared_ptr<LinkChannel> channel_;
  std::unique_ptr<test::StreamerStub> stub_;
  ClientContext context_;
};

TEST_F(LinkCancelHookTest, RunsWhenTheCallerCancels) {
  auto reader = OpenForever();
  context_.TryCancel();
  // Finish() tells the server; the cancel waits for a call into the stream to carry it.
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  service_.returned().WaitForNotification();
}

TEST(LinkCancelHookKillTest, RunsWhenTheCallersProcessIsKilled) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->first));
  ASSERT_TRUE(token.ok()) << token.status();
  syslink::testing::ProcessEvent reading;
  // The caller: opens Forever, reads its first message, says so, and waits to be killed.
  syslink::testing::ChildProcess caller = syslink::testing::ChildProcess::Fork([&] {
    absl::StatusOr<Link> end = AdoptEnd(*token);
    if (!end.ok()) return 3;
    auto channel = std::make_shared<LinkChannel>(*std::move(end));
    test::StreamerStub stub(channel);
    ClientContext context;
    auto reader = stub.Forever(test::Number(), &context);
    test::Number number;
    if (!reader->Read(&number)) return 1;
    reading.Notify();
    pause();
    return 0;
  });
  CloseReleasedEnd(*token);  // the client's end is the child's alone
  test::CancelWaiter service;
  Server server;
  server.ServeLink(&service, std::move(pair->second));
  ASSERT_TRUE(reading.WaitFor(syslink::testing::kPatience)) << "the caller did not open its stream";
  caller.Kill();  // kill -9, the stream open
  EXPECT_EQ(caller.Wait(), syslink::testing::ChildProcess::KilledBy(9));
  service.returned().WaitForNotification();
}

TEST_F(LinkCancelHookTest, RunsWhenTheServerShutsDown) {
  auto reader = OpenForever();
  server_.Shutdown();  // returns once the method has: its hook woke it
  EXPECT_TRUE(service_.returned().HasBeenNotified());
}

// Release, a unary method, served by workers on a link: each test waits for a hook that
// only the server's hearing of the caller's giving up runs.
class LinkUnaryCancelHookTest : public LinkCancelHookTest {
 protected:
  LinkUnaryCancelHookTest() : LinkCancelHookTest(ServerOptions{.workers = 2}) {}

  // Calls Release on a thread of its own; returns once the method has set its hook.
  void CallRelease() {
    caller_ = std::thread([this] {
      test::Number response;
      status_ = stub_->Release(test::Number(), &response, &context_);
    });
    service_.entered().WaitForNotification();
  }

  // The call's status, once the caller has it.
  absl::Status Returned() {
    caller_.join();
    return status_;
  }

  std::thread caller_;
  absl::Status status_;
};

TEST_F(LinkUnaryCancelHookTest, RunsWhenTheCallerCancels) {
  CallRelease();
  context_.TryCancel();
  EXPECT_EQ(Returned().code(), absl::StatusCode::kCancelled);
  service_.returned().WaitForNotification();
}

TEST_F(LinkUnaryCancelHookTest, RunsWhenTheCallersDeadlinePasses) {
  // Long enough for the method to set its hook before it passes, or the hook runs at once
  // and the test shows nothing.
  context_.set_timeout(absl::Seconds(1));
  CallRelease();
  EXPECT_LT(absl::Now(), context_.deadline()) << "the method started after the deadline";
  EXPECT_EQ(Returned().code(), absl::StatusCode::kDeadlineExceeded);
  service_.returned().WaitForNotification();
}

TEST_F(LinkUnaryCancelHookTest, RunsWhenTheServerShutsDown) {
  CallRelease();
  server_.Shutdown();  // returns once the method has: its hook woke it
  EXPECT_TRUE(service_.returned().HasBeenNotified());
  EXPECT_EQ(Returned().code(), absl::StatusCode::kUnavailable);
}

TEST(LinkUnaryCancelHookKillTest, RunsWhenTheCallersProcessIsKilled) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->first));
  ASSERT_TRUE(token.ok()) << token.status();
  // The caller: calls Release, and waits in it to be killed.
  syslink::testing::ChildProcess caller = syslink::testing::ChildProcess::Fork([&] {
    absl::StatusOr<Link> end = AdoptEnd(*token);
    if (!end.ok()) return 3;
    auto channel = std::make_shared<LinkChannel>(*std::move(end));
    test::StreamerStub stub(channel);
    test::Number response;
    (void)stub.Release(test::Number(), &response, nullptr);
    return 1;
  });
  CloseReleasedEnd(*token);  // the client's end is the child's alone
  test::CancelWaiter service;
  Server server(ServerOptions{.workers = 2});
  server.ServeLink(&service, std::move(pair->second));
  service.entered().WaitForNotification();
  caller.Kill();  // kill -9, the call running
  EXPECT_EQ(caller.Wait(), syslink::testing::ChildProcess::KilledBy(9));
  service.returned().WaitForNotification();
}

// Release with n = 1 waits for its hook; any other waits until let_go.
class HeldReleases : public test::CountdownStreamer {
 public:
  absl::Status Release(ServerContext& context, const test::Number& request,
                       test::Number*) override {
    if (request.n() != 1) {
      let_go.WaitForNotification();
      return absl::OkStatus();
    }
    absl::Notification cancelled;
    context.OnCancel([&cancelled] { cancelled.Notify(); });
    first_entered.Notify();
    cancelled.WaitForNotification();
    context.OnCancel(nullptr);
    first_returned.Notify();
    return absl::CancelledError("the caller left");
  }

  absl::Notification first_entered, first_returned, let_go;
};

// Every request slot of a link taken by calls a server holds (HeldReleases, on workers),
// the notice of a call given up cannot go at once: it waits for a free slot.
class LinkSlotsTest : public ::testing::Test {
 protected:
  LinkSlotsTest() {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok()) << pair.status();
    server_.ServeLink(&service_, std::move(pair->second));
    channel_ = std::make_shared<LinkChannel>(std::move(pair->first));
    stub_ = std::make_unique<test::StreamerStub>(channel_);
  }

  // Starts the call that waits for its hook, then takes every other slot with calls
  // (with `contexts`, when not null) that wait to be let go; one more finds none.
  void TakeEverySlot(std::vector<ClientContext>* contexts) {
    test::Number one;
    one.set_n(1);
    stub_->ReleaseAsync(one, &first_response_, &first_, [this](absl::Status s) {
      first_status_ = s;
      first_done_.Notify();
    });
    service_.first_entered.WaitForNotification();
    for (size_t i = 0; i + 1 < kMirrorSlots; ++i) {
      stub_->ReleaseAsync(test::Number(), &responses_[i], contexts ? &(*contexts)[i] : nullptr,
                          [this](absl::Status s) { others_failed_ += !s.ok(); });
    }
    absl::Status no_slot;
    stub_->ReleaseAsync(test::Number(), &responses_.back(), nullptr,
                        [&no_slot](absl::Status s) { no_slot = s; });
    EXPECT_EQ(no_slot.code(), absl::StatusCode::kResourceExhausted) << no_slot;
  }

  // Gives up on the first call: its callback has run, and its notice found no slot.
  void GiveUpTheFirst() {
    first_.TryCancel();
    first_done_.WaitForNotification();
    EXPECT_EQ(first_status_.code(), absl::StatusCode::kCancelled);
  }

  HeldReleases service_;
  Server server_{ServerOptions{.workers = 2}};
  std::shared_ptr<LinkChannel> channel_;
  std::unique_ptr<test::StreamerStub> stub_;
  ClientContext first_;
  test::Number first_response_;
  absl::Notification first_done_;
  absl::Status first_status_;
  std::vector<test::Number> responses_ = std::vector<test::Number>(kMirrorSlots);
  std::atomic<int> others_failed_{0};
};

TEST_F(LinkSlotsTest, ANoticeGoesOnceAReplyFreesASlot) {
  TakeEverySlot(nullptr);
  GiveUpTheFirst();
  service_.let_go.Notify();
  service_.first_returned.WaitForNotification();  // the notice went, and woke the method
  EXPECT_EQ(channel_->Drain(absl::InfiniteFuture()), 0u);
  EXPECT_EQ(others_failed_.load(), 0);
}

TEST_F(LinkSlotsTest, ANoticeGoesOnceALateReplyFreesASlotThoughNoCallWaits) {
  std::vector<ClientContext> others(kMirrorSlots - 1);
  TakeEverySlot(&others);
  GiveUpTheFirst();
  for (ClientContext& other : others) other.TryCancel();
  // No call waits now: only the completion thread, reading on for the notices, sees the
  // late replies that free slots once the held calls return.
  EXPECT_EQ(channel_->Drain(absl::InfiniteFuture()), 0u);
  EXPECT_EQ(others_failed_.load(), static_cast<int>(kMirrorSlots - 1));
  service_.let_go.Notify();
  service_.first_returned.WaitForNotification();
}

// A raw client's given-up notice is a wake-up only: the hook runs when the caller's end
// of the link, in shared memory, says the call was given up, not because a notice says so.
TEST(LinkUnaryCancelHookRawTest, ANoticeRunsTheHookOnlyOfACallGivenUp) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  test::CancelWaiter service;
  Server server(ServerOptions{.workers = 2});
  server.ServeLink(&service, std::move(pair->second));
  Link& client = pair->first;
  using namespace internal;                                    // the call format
  CallHeader header{kCallMagic, kCallVersion, 0, 0, 0, 0, 0};  // an empty Number
  absl::StatusOr<uint64_t> call =
      client.Send(test::Streamer::kReleaseMethodId, std::as_bytes(std::span(&header, 1)));
  ASSERT_TRUE(call.ok()) << call.status();
  service.entered().WaitForNotification();
  // Answered once the server has looked at the call (and would have run its hook).
  auto notice_answered = [&] {
    const GivenUpNotice notice = EncodeGivenUp(*call);
    absl::StatusOr<uint64_t> sent = client.Send(test::Streamer::kReleaseMethodId, notice);
    if (!sent.ok()) return sent.status();
    absl::StatusOr<Message> reply = client.Receive(syslink::testing::Soon());
    if (!reply.ok()) return reply.status();
    EXPECT_EQ(reply->id, *sent);
    return reply->status;
  };
  EXPECT_TRUE(notice_answered().ok());
  EXPECT_EQ(service.hook_runs(), 0);  // the caller still waits
  ASSERT_TRUE(client.Cancel(*call).ok());
  absl::StatusOr<Message> cancelled = client.Receive(syslink::testing::Soon());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(notice_answered().ok());
  EXPECT_EQ(service.hook_runs(), 1);
  service.returned().WaitForNotification();
}

TEST(InProcessCancelHookTest, RunsWhenTheCallerCancelsAUnaryCall) {
  test::CancelWaiter service;
  auto channel = std::make_shared<InProcessChannel>(&service);
  test::StreamerStub stub(channel);
  ClientContext context;
  absl::Status status;
  std::thread caller([&] {
    test::Number response;
    status = stub.Release(test::Number(), &response, &context);
  });
  service.entered().WaitForNotification();
  context.TryCancel();
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(service.hook_runs(), 1);
  // A call's context cancelled after it returned runs no hook of a method gone.
  context.TryCancel();
  EXPECT_EQ(service.hook_runs(), 1);
}

TEST(InProcessCancelHookTest, RunsWhenTheCallerCancels) {
  test::CancelWaiter service;
  auto channel = std::make_shared<InProcessChannel>(&service);
  test::StreamerStub stub(channel);
  ClientContext context;
  auto reader = stub.Forever(test::Number(), &context);
  test::Number number;
  ASSERT_TRUE(reader->Read(&number));
  context.TryCancel();
  // Finish() tells the server; the cancel waits for a call into the stream to carry it.
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  service.returned().WaitForNotification();
}

}  // namespace
}  // namespace syslink::rpc
