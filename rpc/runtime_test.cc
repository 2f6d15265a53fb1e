// The RPC runtime over real links, with a hand-written Service (no generated code), so the
// runtime is tested apart from the code generator.

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/in_process_channel.h"
#include "rpc/internal/call_codec.h"
#include "rpc/internal/call_format.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/method_id.h"
#include "rpc/server.h"
#include "rpc/testdata/call_payload.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/status.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::CallPayload;
using ::syslink::rpc::test::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;
using ::testing::HasSubstr;

// The test service's rpcs, as a generated service would declare them (rpc/method.h).
constexpr Method TestMethod(absl::string_view path) {
  return {MethodIdOfPath(path), path, MethodKind::kUnary};
}
constexpr Method kEcho = TestMethod("/syslink.rpc.test.Test/Echo");
constexpr Method kFail = TestMethod("/syslink.rpc.test.Test/Fail");
constexpr Method kAttachment = TestMethod("/syslink.rpc.test.Test/Attachment");
constexpr Method kWhoAmI = TestMethod("/syslink.rpc.test.Test/WhoAmI");
constexpr Method kWaitForCancel = TestMethod("/syslink.rpc.test.Test/WaitForCancel");
constexpr Method kCount = TestMethod("/syslink.rpc.test.Test/Count");
constexpr Method kAfterReply = TestMethod("/syslink.rpc.test.Test/AfterReply");
constexpr Method kUpstreamDied = TestMethod("/syslink.rpc.test.Test/UpstreamDied");
static_assert(kEcho.id == MethodId("syslink.rpc.test.Test.Echo"));
constexpr Method kUnknown = TestMethod("/syslink.rpc.test.Test/NoSuchMethod");

// What Count keeps per link; counts its own destruction.
struct Counter : SessionState {
  explicit Counter(std::atomic<int>* destroyed = nullptr) : destroyed(destroyed) {}
  ~Counter() override {
    if (destroyed != nullptr) ++*destroyed;
  }
  int calls = 0;
  std::atomic<int>* destroyed;
};

// Echo returns its request; Fail returns an error; Attachment reverses the request's
// attachment into a response attachment; WhoAmI names the caller's uid; WaitForCancel runs
// until its context says cancelled (at most 10 s), counting what it saw; Count answers how
// many calls to it the link made before (its session state), or "none" without one;
// AfterReply answers at once and leaves work that waits for `release`, then sets
// `after_reply_done`.
class TestService : public Service {
 public:
  std::atomic<int> waiting{0};        // WaitForCancel calls running
  std::atomic<int> saw_cancelled{0};  // ... that ended because cancelled() said so
  std::atomic<int> counters_destroyed{0};
  std::atomic<bool> release{false};
  std::atomic<bool> after_reply_done{false};

  absl::string_view service_name() const override { return "syslink.rpc.test.Test"; }
  absl::Status Dispatch(ServerCall& call) override {
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    Text response;
    switch (call.method_id()) {
      case kEcho.id:
        response = request;
        break;
      case kFail.id:
        return absl::FailedPreconditionError("asked to fail: " + request.text());
      case kAttachment.id: {
        std::span<const std::byte> in = call.context().request_attachment().data();
        absl::StatusOr<Attachment> out = call.context().AllocateAttachment(in.size());
        if (!out.ok()) return out.status();
        for (size_t i = 0; i < in.size(); ++i) out->data()[i] = in[in.size() - 1 - i];
        call.context().set_response_attachment(*std::move(out));
        response.set_text("reversed");
        break;
      }
      case kWhoAmI.id:
        response.set_text(std::to_string(call.context().peer().uid));
        break;
      case kCount.id: {
        Counter* counter = call.context().session_state<Counter>();
        if (counter != nullptr && counter->destroyed == nullptr) {
          counter->destroyed = &counters_destroyed;
        }
        response.set_text(counter == nullptr ? "none" : std::to_string(counter->calls++));
        break;
      }
      case kUpstreamDied.id:  // as a method whose own call to another server met a dead peer
        return PeerDiedError("the upstream server exited");
      case kAfterReply.id:
        call.context().set_after_reply([this] {
          Eventually([this] { return release.load(); });
          after_reply_done.store(true);
        });
        response.set_text("answered");
        break;
      case kWaitForCancel.id: {
        ++waiting;
        if (Eventually([&] { return call.context().cancelled(); })) ++saw_cancelled;
        --waiting;
        return absl::CancelledError("the caller gave up");
      }
      default:
        return absl::UnimplementedError("no such method");
    }
    call.SetResponse(response);
    return absl::OkStatus();
  }
};

class RuntimeTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(ServerOptions{.workers = GetParam()});
    LinkOptions options;
    options.ring_capacity = 64 * 1024;  // inline limit 16 KiB
    absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
    ASSERT_TRUE(pair.ok());
    server_->ServeLink(&service_, std::move(pair->second), {getpid(), getuid(), getgid()});
    channel_ = std::make_shared<LinkChannel>(std::move(pair->first));
  }
  void TearDown() override { server_->Shutdown(); }

  TestService service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<LinkChannel> channel_;
};

TEST_P(RuntimeTest, SmallMessageRoundTrip) {
  Text request, response;
  request.set_text("hello");
  ASSERT_TRUE(channel_->Call(kEcho, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "hello");
}

TEST_P(RuntimeTest, LargeMessageSpillsIntoDmaBothWays) {
  Text request, response;
  request.set_blob(std::string(100 * 1024, 'q'));  // over the 16 KiB inline limit
  absl::Status status = channel_->Call(kEcho, request, &response, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.blob(), request.blob());
}

TEST_P(RuntimeTest, MessagePastTheDmaLimitIsResourceExhausted) {
  Text request, response;
  request.set_blob(std::string(200 * 1024, 'q'));  // over the 128 KiB DMA limit
  absl::Status status = channel_->Call(kEcho, request, &response, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("204804 bytes"));  // tag + 3-byte length
  EXPECT_THAT(std::string(status.message()), HasSubstr("131072"));
}

TEST_P(RuntimeTest, ErrorStatusReachesTheCaller) {
  Text request, response;
  request.set_text("now");
  absl::Status status = channel_->Call(kFail, request, &response, nullptr);
  EXPECT_EQ(status, absl::FailedPreconditionError("asked to fail: now"));
}

TEST_P(RuntimeTest, UnknownMethodIsUnimplementedAndTheServerGoesOn) {
  Text request, response;
  EXPECT_EQ(channel_->Call(kUnknown, request, &response, nullptr).code(),
            absl::StatusCode::kUnimplemented);
  request.set_text("still here");
  ASSERT_TRUE(channel_->Call(kEcho, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "still here");
}

// A hand-written client on a raw link to a served TestService.
class RuntimeRawTest : public ::testing::Test {
 protected:
  RuntimeRawTest() {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok());
    server_.ServeLink(&service_, std::move(pair->second));
    client_ = std::move(pair->first);
  }
  ~RuntimeRawTest() override { server_.Shutdown(); }

  // The reply to a call of Echo whose inline payload is `payload`.
  absl::StatusOr<Message> Call(const std::string& payload) {
    return client_.Call(kEcho.id, AsBytes(payload), {}, Soon());
  }
  // The server goes on: a well-formed call over the same link is answered.
  void ExpectServedAfter() {
    LinkChannel channel(std::move(client_));
    Text request, response;
    request.set_text("after");
    ASSERT_TRUE(channel.Call(kEcho, request, &response, nullptr).ok());
    EXPECT_EQ(response.text(), "after");
  }

  TestService service_;
  Server server_;
  Link client_;
};

TEST_F(RuntimeRawTest, RequestThatDoesNotParseIsInvalidArgumentAndTheServerGoesOn) {
  // A well-formed call header, then a Text whose field 1 claims 127 bytes that are not there.
  const std::string bad =
      "\x0a\x7f"
      "abc";
  absl::StatusOr<Message> reply = Call(CallPayload(0, bad));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kInvalidArgument) << reply->status;
  EXPECT_THAT(std::string(reply->status.message()), HasSubstr("does not parse"));
  // A call header that lies about the message's size.
  reply = Call(CallPayload(0, bad, 1000));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reply->status.message()), HasSubstr("malformed call"));
  ExpectServedAfter();
}

TEST_F(RuntimeRawTest, RequestWithAFlagOnlyRepliesCarryIsInvalidArgumentAndTheServerGoesOn) {
  Text text;
  text.set_text("served as a plain call?");
  for (uint16_t flag : {internal::kCallStreamEnd, internal::kCallStreamBatch}) {
    absl::StatusOr<Message> reply = Call(CallPayload(flag, text.SerializeAsString()));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status.code(), absl::StatusCode::kInvalidArgument) << reply->status;
    EXPECT_THAT(std::string(reply->status.message()), HasSubstr("in a request, which never"));
  }
  ExpectServedAfter();
}

TEST(RuntimeRawPeerTest, ReplyWithAFlagAUnaryReplyNeverCarriesFailsTheCallAndTheChannelGoesOn) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  LinkChannel channel(std::move(pair->first));
  Link& server = pair->second;
  // A hand-written server: answers each call with its own message behind a header carrying
  // the next of `flags`.
  const std::vector<uint16_t> flags = {internal::kCallGivenUp, internal::kCallStreamEnd,
                                       internal::kCallStreamBatch, 0};
  std::thread peer([&] {
    for (uint16_t flag : flags) {
      absl::StatusOr<Message> call = server.Receive(Soon());
      if (!call.ok()) return;
      absl::StatusOr<internal::IncomingCall> parsed = internal::ParseIncoming(
          call->data, call->peer_buffer.data(), internal::Incoming::kRequest);
      if (!parsed.ok()) return;
      const std::string message(reinterpret_cast<const char*>(parsed->message.data()),
                                parsed->message.size());
      if (!server.Reply(call->id, absl::OkStatus(), AsBytes(CallPayload(flag, message))).ok()) {
        return;
      }
    }
  });
  Text request, response;
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    request.set_text("reply " + std::to_string(i));
    absl::Status status = channel.Call(kEcho, request, &response, nullptr);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("unary call's reply, which never"));
    EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(kEcho.path)));
  }
  request.set_text("a plain reply");
  absl::Status status = channel.Call(kEcho, request, &response, nullptr);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.text(), "a plain reply");
  peer.join();
}

// While its arena is full, the link reads what has arrived ahead, into a queue of its own,
// looking for returned buffers; a reply read so frees its request's slot before the
// channel has it, and the channel's next call is given that slot. Neither call is lost.
TEST(RuntimeRawPeerTest, ACallWhoseReplyTheLinkReadAheadKeepsItsPlaceBesideTheNextInItsSlot) {
  absl::StatusOr<LinkPair> pair =
      Link::CreatePair({.arena_size = 1 << 20, .max_dma_size = 128 << 10});
  ASSERT_TRUE(pair.ok()) << pair.status();
  LinkChannel channel(std::move(pair->first), {.completion_thread = false});
  Link& server = pair->second;
  // A hand-written server: answers the next call with the call's own bytes (Echo's
  // response has its request's layout).
  auto answer_one = [&] {
    absl::StatusOr<Message> call = server.Receive(Soon());
    ASSERT_TRUE(call.ok()) << call.status();
    ASSERT_TRUE(server.Reply(call->id, absl::OkStatus(), call->data).ok());
  };
  std::vector<Attachment> held;  // the arena full
  for (absl::StatusOr<Attachment> a;
       held.size() < 64 && (a = channel.AllocateAttachment(128 << 10)).ok();) {
    held.push_back(*std::move(a));
  }
  ASSERT_FALSE(held.empty());
  Text request_a, response_a, request_b, response_b;
  request_a.set_text("a");
  request_b.set_text("b");
  std::vector<std::string> done;
  channel.CallAsync(kEcho, request_a, &response_a, nullptr,
                    [&](absl::Status s) { done.push_back("a " + s.ToString()); });
  answer_one();
  // No room: looking for some, the link reads A's reply into its queue.
  EXPECT_TRUE(absl::IsResourceExhausted(channel.AllocateAttachment(128 << 10).status()));
  channel.CallAsync(kEcho, request_b, &response_b, nullptr,
                    [&](absl::Status s) { done.push_back("b " + s.ToString()); });
  answer_one();
  EXPECT_EQ(channel.Drain(Soon()), 0u);
  EXPECT_THAT(done, ::testing::UnorderedElementsAre("a OK", "b OK"));
  EXPECT_EQ(response_a.text(), "a");
  EXPECT_EQ(response_b.text(), "b");
}

// An allocation that finds the arena full makes the link look at its socket, which takes
// the wake-up of a reader asleep in poll() and withdraws its announcement: the reader is
// told, or it sleeps on with its reply in the ring.
TEST(RuntimeRawPeerTest, AnAllocationThatFindsNoRoomLeavesASleepingReaderItsWakeUp) {
  LinkOptions options{.arena_size = 1 << 20, .max_dma_size = 128 << 10};
  options.wait.mode = ring::WaitMode::kBlocking;
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  ASSERT_TRUE(pair.ok()) << pair.status();
  LinkChannel channel(std::move(pair->first));
  Link& server = pair->second;
  std::vector<Attachment> held;  // the arena full
  for (absl::StatusOr<Attachment> a;
       held.size() < 64 && (a = channel.AllocateAttachment(128 << 10)).ok();) {
    held.push_back(*std::move(a));
  }
  ASSERT_FALSE(held.empty());
  std::atomic<pid_t> tid{0};
  absl::Notification returned;
  absl::Status status;
  std::thread caller([&] {
    tid.store(gettid());
    Text request, response;
    request.set_text("x");
    status = channel.Call(kEcho, request, &response, nullptr);
    returned.Notify();
  });
  absl::StatusOr<Message> call = server.Receive(Soon());
  ASSERT_TRUE(call.ok()) << call.status();
  while (tid.load() == 0) std::this_thread::yield();
  ASSERT_TRUE(Eventually([&] { return testing::ThreadState(tid.load()) == 'S'; }));
  EXPECT_TRUE(absl::IsResourceExhausted(channel.AllocateAttachment(128 << 10).status()));
  ASSERT_TRUE(server.Reply(call->id, absl::OkStatus(), call->data).ok());
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(5)))
      << "the reader slept on with its reply in the ring";
  held.clear();  // buffers going back wake a reader that still sleeps
  caller.join();
  EXPECT_TRUE(status.ok()) << status;
}

// A TestService served with two workers, so that a slow call leaves room for others.
class TwoWorkersTest : public ::testing::Test {
 protected:
  ~TwoWorkersTest() override { server_.Shutdown(); }
  // A channel over a new link to the service.
  std::shared_ptr<LinkChannel> Connect(LinkChannelOptions options = {}) {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok()) << pair.status();
    server_.ServeLink(&service_, std::move(pair->second));
    return std::make_shared<LinkChannel>(std::move(pair->first), options);
  }

  TestService service_;
  Server server_{ServerOptions{.workers = 2}};
};

// Without a completion thread, Drain() runs each callback as soon as it has read its
// reply, not once every call is answered: here the fast call's callback ends the slow one.
TEST_F(TwoWorkersTest, DrainRunsACallbackWithoutWaitingForSlowerCalls) {
  std::shared_ptr<LinkChannel> served = Connect({.completion_thread = false});
  LinkChannel& channel = *served;
  ClientContext slow_context;
  Text request, slow_response, fast_response;
  absl::Status slow_status = absl::UnknownError("its callback did not run");
  channel.CallAsync(kWaitForCancel, request, &slow_response, &slow_context,
                    [&](absl::Status s) { slow_status = std::move(s); });
  request.set_text("fast");
  absl::Status fast_status = absl::UnknownError("its callback did not run");
  channel.CallAsync(kEcho, request, &fast_response, nullptr, [&](absl::Status s) {
    fast_status = std::move(s);
    slow_context.TryCancel();
  });
  EXPECT_EQ(channel.Drain(absl::Now() + absl::Seconds(5)), 0u)
      << "the fast call's callback waited for the slow call";
  EXPECT_TRUE(fast_status.ok()) << fast_status;
  EXPECT_EQ(slow_status.code(), absl::StatusCode::kCancelled) << slow_status;
}

// A callback may hold the last reference to its channel (a stub it captured): the channel
// is then destroyed on the completion thread once the callback has run, and it gives the
// calls still pending their CANCELLED.
TEST_F(TwoWorkersTest, ACallbackMayDropTheLastReferenceToItsChannel) {
  std::shared_ptr<LinkChannel> channel = Connect();
  const std::weak_ptr<LinkChannel> weak = channel;
  LinkChannel* const raw = channel.get();
  Text request, slow_response, response;
  absl::Status slow_status;
  absl::Notification destroyed;
  raw->CallAsync(kWaitForCancel, request, &slow_response, nullptr, [&](absl::Status s) {
    slow_status = std::move(s);
    destroyed.Notify();
  });
  request.set_text("hi");
  absl::Status status;
  // The test lets go of the channel: the callback holds the only reference.
  raw->CallAsync(kEcho, request, &response, nullptr,
                 [&status, keep = std::move(channel)](absl::Status s) { status = std::move(s); });
  ASSERT_TRUE(destroyed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.text(), "hi");
  EXPECT_EQ(slow_status.code(), absl::StatusCode::kCancelled) << slow_status;
  EXPECT_THAT(std::string(slow_status.message()), HasSubstr("destroyed"));
}

// An Echo call with a deadline 100 ms away, on a thread of its own.
struct CallWithADeadline {
  explicit CallWithADeadline(LinkChannel& channel)
      : thread([this, &channel] {
          ClientContext context;
          context.set_deadline(absl::Now() + absl::Milliseconds(100));
          Text request, response;
          status = channel.Call(kEcho, request, &response, &context);
          returned.Notify();
        }) {}
  absl::Notification returned;
  absl::Status status;
  std::thread thread;  // last: it starts once the others are made
};

// A server that sends a client requests (a client serves none) and reads none of the
// refusals cannot hold the client's reader: once the ring has no room for another
// refusal, the link closes, and the call waiting on it ends.
TEST(RuntimeRawPeerTest, AServerThatSendsRequestsAndReadsNoRefusalLosesItsLink) {
  LinkOptions options;
  options.ring_capacity = 16 * 1024;
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  ASSERT_TRUE(pair.ok()) << pair.status();
  LinkChannel channel(std::move(pair->first));
  Link server = std::move(pair->second);
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    // Sends never wait: a send waiting for room would read the refusals ahead.
    while (!stop.load()) {
      absl::StatusOr<uint64_t> id = server.Send(1, {}, {}, absl::InfinitePast());
      if (!id.ok() && !absl::IsDeadlineExceeded(id.status()) &&
          !absl::IsResourceExhausted(id.status())) {
        return;  // the link closed
      }
    }
  });
  CallWithADeadline call(channel);
  const bool ended = call.returned.WaitForNotificationWithTimeout(absl::Seconds(5));
  EXPECT_TRUE(ended) << "the reader waits for good to refuse the server's requests";
  stop.store(true);
  flood.join();
  server.Close();  // lets a stuck reader go
  call.thread.join();
  EXPECT_FALSE(call.status.ok());
  EXPECT_FALSE(channel.status().ok());
}

// A user's last reference, dropped while the completion thread runs a callback, destroys
// the channel before it returns, as always: the destructor waits for the callback, and the
// calls still pending get their CANCELLED meanwhile.
TEST_F(TwoWorkersTest, TheLastReferenceDroppedWhileACallbackRunsEndsTheChannelAtOnce) {
  std::shared_ptr<LinkChannel> channel = Connect();
  Text request, fast_response, slow_response;
  absl::Notification in_callback, release;
  channel->CallAsync(kEcho, request, &fast_response, nullptr, [&](absl::Status) {
    in_callback.Notify();
    release.WaitForNotification();
  });
  absl::Status slow_status = absl::UnknownError("its callback did not run");
  channel->CallAsync(kWaitForCancel, request, &slow_response, nullptr,
                     [&](absl::Status s) { slow_status = std::move(s); });
  in_callback.WaitForNotification();
  const pid_t tid = gettid();
  std::thread releaser([&] {
    (void)Eventually([&] { return testing::ThreadState(tid) == 'S'; });  // in reset()
    release.Notify();
  });
  channel.reset();
  EXPECT_EQ(slow_status.code(), absl::StatusCode::kCancelled) << slow_status;
  releaser.join();
}

TEST_P(RuntimeTest, AttachmentsTravelBothWays) {
  ClientContext context;
  absl::StatusOr<Attachment> attachment = channel_->AllocateAttachment(10000);
  ASSERT_TRUE(attachment.ok());
  for (size_t i = 0; i < attachment->size(); ++i) attachment->data()[i] = std::byte(i % 251);
  context.set_request_attachment(*std::move(attachment));
  Text request, response;
  ASSERT_TRUE(channel_->Call(kAttachment, request, &response, &context).ok());
  EXPECT_EQ(response.text(), "reversed");
  std::span<const std::byte> back = context.response_attachment().data();
  ASSERT_EQ(back.size(), 10000u);
  for (size_t i = 0; i < back.size(); ++i) {
    ASSERT_EQ(back[i], std::byte((9999 - i) % 251)) << i;
  }
  // The lent buffer came back to the caller.
  EXPECT_EQ(context.request_attachment().size(), 10000u);
}

TEST_P(RuntimeTest, AsyncCallsCompleteOnDrain) {
  constexpr int kCalls = 32;
  std::vector<Text> requests(kCalls), responses(kCalls);
  std::vector<absl::Status> results(kCalls, absl::UnknownError("not run"));
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_text(std::to_string(i));
    channel_->CallAsync(kEcho, requests[i], &responses[i], nullptr,
                        [&results, i](absl::Status s) { results[i] = s; });
  }
  EXPECT_EQ(channel_->Drain(Soon()), 0u);
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i];
    EXPECT_EQ(responses[i].text(), std::to_string(i));
  }
}

TEST_P(RuntimeTest, DeadlineExceeded) {
  ClientContext context;
  context.set_deadline(absl::Now() - absl::Seconds(1));
  Text request, response;
  absl::Status status = channel_->Call(kEcho, request, &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  // Named by the method, not only by numbers.
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(kEcho.path) + ": "));
}

TEST_P(RuntimeTest, CallerIdentityReachesTheMethod) {
  Text request, response;
  ASSERT_TRUE(channel_->Call(kWhoAmI, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), std::to_string(getuid()));
}

TEST_P(RuntimeTest, ServerGoneGivesPeerDiedAndNeverHangs) {
  server_->Shutdown();
  Text request, response;
  absl::Status status = channel_->Call(kEcho, request, &response, nullptr);
  EXPECT_TRUE(IsPeerDied(status)) << status;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  // Calls made once the link is closed fail at their send, and say which rpc failed too.
  status = channel_->Call(kEcho, request, &response, nullptr);
  EXPECT_TRUE(IsPeerDied(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(kEcho.path)));
  absl::Status async_status;
  channel_->CallAsync(kEcho, request, &response, nullptr,
                      [&](absl::Status s) { async_status = std::move(s); });
  channel_->Drain(Soon());
  EXPECT_TRUE(IsPeerDied(async_status)) << async_status;
  EXPECT_THAT(std::string(async_status.message()), HasSubstr(std::string(kEcho.path)));
}

// Waits until `counter` reads `value` (at most kPatience); whether it does.
bool AwaitCount(const std::atomic<int>& counter, int value) {
  return Eventually([&] { return counter.load() == value; });
}

// Waits until `service` runs `calls` WaitForCancel calls at once.
bool AwaitWaiting(const TestService& service, int calls) {
  return AwaitCount(service.waiting, calls);
}

// Waits until `service` saw `calls` cancellations in all.
bool AwaitCancelled(const TestService& service, int calls) {
  return AwaitCount(service.saw_cancelled, calls);
}

TEST_P(RuntimeTest, TryCancelOfASyncCallReachesTheMethod) {
  ClientContext context;
  Text request, response;
  absl::Status status;
  std::thread caller(
      [&] { status = channel_->Call(kWaitForCancel, request, &response, &context); });
  ASSERT_TRUE(AwaitWaiting(service_, 1));
  context.TryCancel();
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_TRUE(AwaitCancelled(service_, 1));
}

TEST_P(RuntimeTest, TryCancelOfAnAsyncCallReachesTheMethod) {
  ClientContext context;
  Text request, response;
  absl::Status status = absl::UnknownError("not completed");
  channel_->CallAsync(kWaitForCancel, request, &response, &context,
                      [&](absl::Status s) { status = s; });
  ASSERT_TRUE(AwaitWaiting(service_, 1));
  context.TryCancel();
  EXPECT_EQ(channel_->Drain(Soon()), 0u);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_TRUE(AwaitCancelled(service_, 1));
}

TEST_P(RuntimeTest, CallerDeadlineReachesTheMethod) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(50));
  Text request, response;
  absl::Status status = channel_->Call(kWaitForCancel, request, &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(AwaitCancelled(service_, 1));
}

TEST_P(RuntimeTest, CallerClosingItsEndReachesTheMethod) {
  Text request, response;
  channel_->CallAsync(kWaitForCancel, request, &response, nullptr, [](absl::Status) {});
  ASSERT_TRUE(AwaitWaiting(service_, 1));
  channel_.reset();  // closes the client's end with the call outstanding
  EXPECT_TRUE(AwaitCancelled(service_, 1));
}

TEST_P(RuntimeTest, ServerShutdownReachesTheMethod) {
  Text request, response;
  channel_->CallAsync(kWaitForCancel, request, &response, nullptr, [](absl::Status) {});
  ASSERT_TRUE(AwaitWaiting(service_, 1));
  std::thread stopper([&] { server_->Shutdown(); });
  EXPECT_TRUE(AwaitCancelled(service_, 1));
  stopper.join();
}

TEST_P(RuntimeTest, OtherCallsAreNotCancelled) {
  ClientContext first, second;
  Text request, first_response, second_response;
  absl::Status first_status = absl::UnknownError("not completed");
  channel_->CallAsync(kWaitForCancel, request, &first_response, &first,
                      [&](absl::Status s) { first_status = s; });
  if (GetParam() == 0) {
    // One call at a time on the link's thread: cancel the first, then check the second.
    ASSERT_TRUE(AwaitWaiting(service_, 1));
    first.TryCancel();
    EXPECT_EQ(channel_->Drain(Soon()), 0u);
    EXPECT_TRUE(AwaitCancelled(service_, 1));
    second.set_timeout(absl::Milliseconds(300));
    absl::Status status = channel_->Call(kWaitForCancel, request, &second_response, &second);
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_TRUE(AwaitCancelled(service_, 2));
    return;
  }
  absl::Status second_status = absl::UnknownError("not completed");
  channel_->CallAsync(kWaitForCancel, request, &second_response, &second,
                      [&](absl::Status s) { second_status = s; });
  ASSERT_TRUE(AwaitWaiting(service_, 2));
  first.TryCancel();
  EXPECT_EQ(channel_->Drain(absl::Now() + absl::Milliseconds(200)), 1u);
  EXPECT_EQ(first_status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(service_.saw_cancelled.load(), 1);
  EXPECT_EQ(service_.waiting.load(), 1);  // the second still runs
  second.TryCancel();
  EXPECT_EQ(channel_->Drain(Soon()), 0u);
  EXPECT_TRUE(AwaitCancelled(service_, 2));
}

// A method's PEER_DIED is about someone else: its caller, alive, gets it as an answer.
TEST_P(RuntimeTest, AMethodsOwnPeerDiedStatusReachesTheCaller) {
  ClientContext context;
  context.set_timeout(absl::Seconds(5));
  Text request, response;
  absl::Status status = channel_->Call(kUpstreamDied, request, &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("the upstream server exited"));
}

TEST_P(RuntimeTest, AfterReplyWorkRunsOnceTheCallerHasItsAnswer) {
  ClientContext context;
  context.set_timeout(absl::Seconds(5));
  Text request, response;
  // The work waits for `release`: had it run before the reply, the call would time out.
  ASSERT_TRUE(channel_->Call(kAfterReply, request, &response, &context).ok());
  EXPECT_EQ(response.text(), "answered");
  EXPECT_FALSE(service_.after_reply_done.load());
  service_.release.store(true);
  EXPECT_TRUE(Eventually([&] { return service_.after_reply_done.load(); }));
}

// After-reply work delays the server's Shutdown() (context.h), with workers as without.
TEST_P(RuntimeTest, ShutdownWaitsForAfterReplyWork) {
  Text request, response;
  ASSERT_TRUE(channel_->Call(kAfterReply, request, &response, nullptr).ok());
  std::atomic<bool> done_when_shut_down{false};
  absl::Notification shut_down;
  std::thread shutdown([&] {
    server_->Shutdown();
    done_when_shut_down.store(service_.after_reply_done.load());
    shut_down.Notify();
  });
  EXPECT_FALSE(shut_down.WaitForNotificationWithTimeout(absl::Milliseconds(100)))
      << "Shutdown() returned while after-reply work ran";
  service_.release.store(true);
  shutdown.join();
  EXPECT_TRUE(done_when_shut_down.load());
}

// Session state: kept per link from call to call where only the link's own thread runs the
// methods (inline), absent with workers.
TEST_P(RuntimeTest, SessionStateLastsForTheLinkAndIsDroppedWithIt) {
  Text request, response;
  std::vector<std::string> answers;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(channel_->Call(kCount, request, &response, nullptr).ok());
    answers.push_back(response.text());
  }
  if (GetParam() > 0) {
    EXPECT_THAT(answers, ::testing::Each(std::string("none")));
    return;
  }
  EXPECT_THAT(answers, ::testing::ElementsAre("0", "1", "2"));

  // Another link to the same service starts afresh.
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  server_->ServeLink(&service_, std::move(pair->second), {getpid(), getuid(), getgid()});
  LinkChannel other(std::move(pair->first));
  ASSERT_TRUE(other.Call(kCount, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "0");
  ASSERT_TRUE(channel_->Call(kCount, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "3");

  // Closing the first link ends its session, and its state goes with it.
  EXPECT_EQ(service_.counters_destroyed.load(), 0);
  channel_.reset();
  EXPECT_TRUE(Eventually([&] { return service_.counters_destroyed.load() >= 1; }));
  EXPECT_EQ(service_.counters_destroyed.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(InlineAndPool, RuntimeTest, ::testing::Values(0, 2), [](const auto& info) {
  return info.param == 0 ? std::string("inline") : std::string("pool");
});

TEST(InProcessChannelTest, TryCancelFromAnotherThreadReachesTheMethod) {
  TestService service;
  InProcessChannel channel(&service);
  ClientContext context;
  Text request, response;
  absl::Status status;
  std::thread caller([&] { status = channel.Call(kWaitForCancel, request, &response, &context); });
  ASSERT_TRUE(AwaitWaiting(service, 1));
  context.TryCancel();
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(service.saw_cancelled.load(), 1);
}

TEST(InProcessChannelTest, RunsAfterReplyWorkBeforeTheCallReturnsAndKeepsNoSessionState) {
  TestService service;
  service.release.store(true);
  InProcessChannel channel(&service);
  Text request, response;
  ASSERT_TRUE(channel.Call(kAfterReply, request, &response, nullptr).ok());
  EXPECT_TRUE(service.after_reply_done.load());
  ASSERT_TRUE(channel.Call(kCount, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "none");
}

TEST(InProcessChannelTest, CallsTheServiceDirectly) {
  TestService service;
  InProcessChannel channel(&service);
  Text request, response;
  request.set_text("direct");
  ASSERT_TRUE(channel.Call(kEcho, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "direct");
  EXPECT_EQ(channel.Call(kFail, request, &response, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace syslink::rpc
