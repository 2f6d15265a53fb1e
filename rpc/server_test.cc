// The server's threading and limits: idle links cost no thread, a slow method on one link
// holds up no other link, a finished session is freed at once, running methods finish and
// answer across a shutdown, and links past the limit are refused.

#include "rpc/server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/stop_signals.h"
#include "rpc/testdata/call_payload.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/status.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;

constexpr Method kEcho{MethodId("syslink.rpc.test.Gate.Echo"), "/syslink.rpc.test.Gate/Echo",
                       MethodKind::kUnary};
constexpr Method kHold{MethodId("syslink.rpc.test.Gate.Hold"), "/syslink.rpc.test.Gate/Hold",
                       MethodKind::kUnary};
constexpr Method kBig{MethodId("syslink.rpc.test.Gate.Big"), "/syslink.rpc.test.Gate/Big",
                      MethodKind::kUnary};
constexpr Method kThrow{MethodId("syslink.rpc.test.Gate.Throw"), "/syslink.rpc.test.Gate/Throw",
                        MethodKind::kUnary};

// Echo answers at once. Hold waits until `open` is set or its caller gives up (at most
// 10 s), then answers "held" (or CANCELLED when it saw cancelled()). Big answers with as
// many bytes of text as its request's text says, and counts its calls. Throw throws.
class GateService : public Service {
 public:
  std::atomic<bool> open{false};
  std::atomic<int> holding{0};
  std::atomic<int> big{0};

  absl::string_view service_name() const override { return "syslink.rpc.test.Gate"; }
  absl::Status Dispatch(ServerCall& call) override {
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    if (call.method_id() == kEcho.id) {
      call.SetResponse(request);
      return absl::OkStatus();
    }
    if (call.method_id() == kBig.id) {
      Text response;
      response.set_text(std::string(std::stoul(request.text()), 'b'));
      call.SetResponse(response);
      ++big;
      return absl::OkStatus();
    }
    if (call.method_id() == kThrow.id) throw std::runtime_error("thrown by " + request.text());
    if (call.method_id() != kHold.id) return absl::UnimplementedError("no such method");
    ++holding;
    Eventually([&] { return open.load() || call.context().cancelled(); });
    --holding;
    if (call.context().cancelled()) return absl::CancelledError("held until cancelled");
    Text response;
    response.set_text("held");
    call.SetResponse(response);
    return absl::OkStatus();
  }
};

class ServerTest : public ::testing::TestWithParam<int> {
 protected:
  ServerTest() : ServerTest(ServerOptions{}) {}
  // `options` with the test's workers.
  explicit ServerTest(ServerOptions options) : server_(WithWorkers(std::move(options))) {}
  ~ServerTest() override { server_.Shutdown(); }

  // A channel to a new link the server serves.
  std::unique_ptr<LinkChannel> Connect(LinkOptions options = {},
                                       LinkChannelOptions channel_options = {}) {
    options.ring_capacity = 16 * 1024;
    options.arena_size = 64 * 1024;
    options.max_dma_size = 64 * 1024;
    absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
    EXPECT_TRUE(pair.ok()) << pair.status();
    if (!pair.ok()) return nullptr;
    server_.ServeLink(&service_, std::move(pair->second), {getpid(), getuid(), getgid()});
    return std::make_unique<LinkChannel>(std::move(pair->first), channel_options);
  }

  static absl::Status Echo(LinkChannel& channel, const std::string& text) {
    Text request, response;
    request.set_text(text);
    absl::Status status = channel.Call(kEcho, request, &response, nullptr);
    if (status.ok() && response.text() != text) return absl::InternalError("wrong answer");
    return status;
  }

  GateService service_;
  Server server_;

 private:
  static ServerOptions WithWorkers(ServerOptions options) {
    options.workers = GetParam();
    return options;
  }
};

// Test names for the workers parameter: 0 (methods run on the serving thread) or a pool.
std::string InlineOrPool(const ::testing::TestParamInfo<int>& info) {
  return info.param == 0 ? "inline" : "pool";
}

// A method that throws fails its call with UNKNOWN naming the exception, as a gRPC server
// answers one; the server and the link go on serving.
TEST_P(ServerTest, AMethodThatThrowsFailsItsCallOnly) {
  std::unique_ptr<LinkChannel> channel = Connect();
  Text request, response;
  request.set_text("the test");
  absl::Status thrown = channel->Call(kThrow, request, &response, nullptr);
  EXPECT_EQ(thrown.code(), absl::StatusCode::kUnknown) << thrown;
  EXPECT_THAT(std::string(thrown.message()), ::testing::HasSubstr("thrown by the test"));
  EXPECT_TRUE(Echo(*channel, "after").ok());
}

TEST_P(ServerTest, IdleLinksCostNoThread) {
  std::vector<std::unique_ptr<LinkChannel>> channels;
  for (int i = 0; i < 200; ++i) {
    channels.push_back(Connect());
    ASSERT_TRUE(Echo(*channels.back(), "x").ok());
  }
  EXPECT_EQ(server_.live_links(), 200u);
  // Each link was served once; idle, they leave at most the threads that wait for them.
  EXPECT_TRUE(Eventually([&] { return server_.serving_threads() <= 2; }))
      << server_.serving_threads() << " threads serve 200 idle links";
  // And every one still answers.
  for (auto& channel : channels) ASSERT_TRUE(Echo(*channel, "again").ok());
}

TEST_P(ServerTest, ASlowMethodOnOneLinkHoldsUpNoOtherLink) {
  std::unique_ptr<LinkChannel> slow = Connect();
  std::unique_ptr<LinkChannel> fast = Connect();
  Text request, response;
  absl::Status held = absl::UnknownError("not completed");
  slow->CallAsync(kHold, request, &response, nullptr, [&](absl::Status s) { held = s; });
  ASSERT_TRUE(Eventually([&] { return service_.holding.load() == 1; }));
  // While Hold runs, the other link answers, again and again.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Echo(*fast, "fast").ok());
  EXPECT_EQ(service_.holding.load(), 1);
  service_.open.store(true);
  EXPECT_EQ(slow->Drain(Soon()), 0u);
  EXPECT_TRUE(held.ok()) << held;
  EXPECT_EQ(response.text(), "held");
}

TEST_P(ServerTest, ALinkClosedByItsClientIsFreedAtOnce) {
  std::unique_ptr<LinkChannel> first = Connect();
  std::unique_ptr<LinkChannel> second = Connect();
  ASSERT_TRUE(Echo(*first, "a").ok());
  ASSERT_TRUE(Echo(*second, "b").ok());
  EXPECT_EQ(server_.live_links(), 2u);
  first.reset();
  // No other link comes or goes: the closed one is freed by itself.
  EXPECT_TRUE(Eventually([&] { return server_.live_links() == 1; }));
  ASSERT_TRUE(Echo(*second, "c").ok());
}

TEST_P(ServerTest, ShutdownLetsARunningMethodAnswer) {
  std::unique_ptr<LinkChannel> channel = Connect();
  Text request, response;
  absl::Status held = absl::UnknownError("not completed");
  channel->CallAsync(kHold, request, &response, nullptr, [&](absl::Status s) { held = s; });
  ASSERT_TRUE(Eventually([&] { return service_.holding.load() == 1; }));
  server_.Shutdown();  // Hold sees cancelled() and returns; its answer is sent first
  EXPECT_EQ(channel->Drain(Soon()), 0u);
  // Its CANCELLED, caused by the shutdown, reaches the caller as UNAVAILABLE.
  EXPECT_EQ(held.code(), absl::StatusCode::kUnavailable) << held;
  EXPECT_FALSE(IsPeerDied(held)) << held;
  EXPECT_EQ(held.message(), "the server shut down while the method ran: held until cancelled");
  EXPECT_EQ(server_.live_links(), 0u);
  // The link is closed now.
  absl::Status after = Echo(*channel, "late");
  EXPECT_TRUE(IsPeerDied(after)) << after;
}

TEST_P(ServerTest, ShutdownWithADeadlineLetsCallsInFlightFinish) {
  std::unique_ptr<LinkChannel> busy = Connect();
  std::unique_ptr<LinkChannel> idle = Connect();
  ASSERT_TRUE(Echo(*idle, "before").ok());
  Text request, held_response, late_response;
  absl::Status held = absl::UnknownError("not completed");
  busy->CallAsync(kHold, request, &held_response, nullptr, [&](absl::Status s) { held = s; });
  ASSERT_TRUE(Eventually([&] { return service_.holding.load() == 1; }));

  std::thread shutdown([&] { server_.Shutdown(absl::Now() + absl::Seconds(60)); });
  // The idle link closes at once; the busy one stays while Hold runs.
  ASSERT_TRUE(Eventually([&] { return server_.live_links() == 1; }));
  absl::Status refused = Echo(*idle, "after");
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  // A new call on the busy link is refused too (inline: once Hold has answered).
  absl::Status late = absl::UnknownError("not completed");
  request.set_text("late");
  busy->CallAsync(kEcho, request, &late_response, nullptr, [&](absl::Status s) { late = s; });
  EXPECT_EQ(service_.holding.load(), 1);  // not cancelled
  service_.open = true;
  shutdown.join();
  EXPECT_EQ(busy->Drain(Soon()), 0u);
  EXPECT_TRUE(held.ok()) << held;
  EXPECT_EQ(held_response.text(), "held");
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable) << late;
  EXPECT_FALSE(IsPeerDied(late)) << late;
  EXPECT_EQ(server_.live_links(), 0u);
}

TEST_P(ServerTest, ShutdownPastItsDeadlineCancelsWhatRunsAndAnswersUnavailable) {
  std::unique_ptr<LinkChannel> channel = Connect();
  Text request, response;
  absl::Status held = absl::UnknownError("not completed");
  channel->CallAsync(kHold, request, &response, nullptr, [&](absl::Status s) { held = s; });
  ASSERT_TRUE(Eventually([&] { return service_.holding.load() == 1; }));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(200);
  server_.Shutdown(deadline);  // Hold never opens: it sees cancelled() at the deadline
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_EQ(channel->Drain(Soon()), 0u);
  EXPECT_EQ(held.code(), absl::StatusCode::kUnavailable) << held;
  EXPECT_THAT(std::string(held.message()), ::testing::HasSubstr("held until cancelled"));
  EXPECT_EQ(server_.live_links(), 0u);
}

// Calls of Big on a channel that reads nothing until Drain(), and what came of each.
struct BigCalls {
  explicit BigCalls(int calls)
      : responses(calls), statuses(calls, absl::UnknownError("no callback")) {}

  std::vector<Text> responses;
  std::vector<absl::Status> statuses;
  std::atomic<int> completed{0};
};

void StartBigCalls(LinkChannel& channel, int answer_bytes, BigCalls& calls) {
  Text request;
  request.set_text(std::to_string(answer_bytes));
  for (size_t i = 0; i < calls.statuses.size(); ++i) {
    channel.CallAsync(kBig, request, &calls.responses[i], nullptr,
                      [&calls, i](absl::Status status) {
                        calls.statuses[i] = std::move(status);
                        ++calls.completed;
                      });
  }
}

// Reads what the server sent before it closed the link: at least `answers_that_fit`
// answers whole, then PEER_DIED for every call left.
void ExpectAnsweredThenPeerDied(LinkChannel& channel, BigCalls& calls, int answer_bytes,
                                int answers_that_fit) {
  EXPECT_EQ(channel.Drain(Soon()), 0u);
  const int count = static_cast<int>(calls.statuses.size());
  EXPECT_EQ(calls.completed.load(), count);
  int answered = 0;
  for (int i = 0; i < count; ++i) {
    if (calls.statuses[i].ok()) {
      ++answered;
      EXPECT_EQ(calls.responses[i].text().size(), static_cast<size_t>(answer_bytes));
    } else {
      EXPECT_TRUE(IsPeerDied(calls.statuses[i])) << "call " << i << ": " << calls.statuses[i];
    }
  }
  EXPECT_GE(answered, answers_that_fit);
  EXPECT_LT(answered, count);
}

// A client that reads no replies leaves the server's thread waiting for room: in the reply
// ring for answers sent inline, in the server's DMA arena for answers that spill (their
// buffers come back as the client reads them). Shutdown() ends either wait and closes the
// link; it does not wait for the client.
void ExpectShutdownDoesNotWaitForTheClient(Server& server, GateService& service,
                                           LinkChannel* channel, int calls, int answer_bytes,
                                           int answers_that_fit) {
  BigCalls big(calls);
  StartBigCalls(*channel, answer_bytes, big);
  // The answer after those that fit waits for room.
  ASSERT_TRUE(Eventually([&] { return service.big.load() > answers_that_fit; }))
      << service.big.load() << " answered";
  absl::Notification shut_down;
  std::thread shutdown([&] {
    server.Shutdown();
    shut_down.Notify();
  });
  EXPECT_TRUE(shut_down.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Without that, the client reads: the server goes on and the thread can be joined.
  if (!shut_down.HasBeenNotified()) channel->Drain(Soon());
  shutdown.join();
  ExpectAnsweredThenPeerDied(*channel, big, answer_bytes, answers_that_fit);
  EXPECT_EQ(server.live_links(), 0u);
}

TEST_P(ServerTest, ShutdownDoesNotWaitForAClientThatReadsNoInlineReplies) {
  // No completion thread: nobody reads the link until Drain(). Answers of 3,000 bytes go
  // inline (the limit is a quarter of the 16 KiB ring): four fit in the ring.
  std::unique_ptr<LinkChannel> channel = Connect({}, {.completion_thread = false});
  ExpectShutdownDoesNotWaitForTheClient(server_, service_, channel.get(), 12, 3000, 4);
}

TEST_P(ServerTest, ShutdownDoesNotWaitForAClientThatKeepsItsRepliesBuffers) {
  // Answers of 6,000 bytes spill into 8 KiB buffers of the server's 64 KiB arena: seven
  // fit, and come back only as the client reads them.
  std::unique_ptr<LinkChannel> channel = Connect({}, {.completion_thread = false});
  ExpectShutdownDoesNotWaitForTheClient(server_, service_, channel.get(), 12, 6000, 7);
}

TEST_P(ServerTest, ShutdownOfManyIdleLinksIsQuick) {
  std::vector<std::unique_ptr<LinkChannel>> channels;
  for (int i = 0; i < 100; ++i) {
    channels.push_back(Connect());
    ASSERT_TRUE(Echo(*channels.back(), "x").ok());
  }
  absl::Time start = absl::Now();
  server_.Shutdown();
  // Nothing runs: no wait on a poll interval. (A generous bound: the VM is shared.)
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  for (auto& channel : channels) EXPECT_TRUE(IsPeerDied(Echo(*channel, "late")));
}

TEST_P(ServerTest, ASpinningLinkKeepsItsThreadUntilShutdown) {
  LinkOptions spin;
  spin.wait.mode = ring::WaitMode::kSpin;
  std::unique_ptr<LinkChannel> channel = Connect(spin);
  ASSERT_TRUE(Echo(*channel, "spin").ok());
  ASSERT_TRUE(Echo(*channel, "spin").ok());
  server_.Shutdown();
  EXPECT_TRUE(IsPeerDied(Echo(*channel, "late")));
}

// One thread serves every link, and methods run on it. While it runs Hold for one link,
// another link's calls wait in their ring; Shutdown(deadline) leaves them to the serving
// threads and never serves them on its own, where answering them could hold it past its
// deadline (here the answers fill the ring of a client that reads none; a client that keeps
// calling would do the same).
class OneServingThreadTest : public ServerTest {
 protected:
  OneServingThreadTest() : ServerTest({.max_threads = 1}) {}
};

TEST_P(OneServingThreadTest, CallsWaitingInARingDoNotHoldShutdownPastItsDeadline) {
  std::unique_ptr<LinkChannel> busy = Connect();
  Text request, response;
  absl::Status held = absl::UnknownError("not completed");
  busy->CallAsync(kHold, request, &response, nullptr, [&](absl::Status s) { held = s; });
  ASSERT_TRUE(Eventually([&] { return service_.holding.load() == 1; }));

  // A raw client sends 160 calls and reads no answer. In 16 KiB rings, the calls (88-byte
  // records) fit, and their refusals (112 bytes) do not.
  LinkOptions options;
  options.ring_capacity = 16 * 1024;
  absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
  ASSERT_TRUE(pair.ok()) << pair.status();
  server_.ServeLink(&service_, std::move(pair->second), {getpid(), getuid(), getgid()});
  Link client = std::move(pair->first);
  const std::string call = test::CallPayload(0, "");
  constexpr int kCalls = 160;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(client.Send(kEcho.id, AsBytes(call), {}, Soon()).ok()) << "call " << i;
  }

  const absl::Time deadline = absl::Now() + absl::Milliseconds(200);
  absl::Notification shut_down;
  std::thread shutdown([&] {
    server_.Shutdown(deadline);
    shut_down.Notify();
  });
  EXPECT_TRUE(shut_down.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Every call gets one answer: PEER_DIED, as no thread took them before the link closed.
  // (Reading them also frees a server held by them, so that the test ends either way.)
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Message> reply = client.Receive(Soon());
    ASSERT_TRUE(reply.ok()) << "answer " << i << ": " << reply.status();
    EXPECT_TRUE(IsPeerDied(reply->status)) << "answer " << i << ": " << reply->status;
  }
  shutdown.join();
  EXPECT_EQ(busy->Drain(Soon()), 0u);
  EXPECT_EQ(held.code(), absl::StatusCode::kUnavailable) << held;
  EXPECT_EQ(server_.live_links(), 0u);
}

// Methods run on the serving thread: with a pool, that thread is free to serve the calls.
INSTANTIATE_TEST_SUITE_P(Inline, OneServingThreadTest, ::testing::Values(0), InlineOrPool);

// A server that waits half a second at most for a client to make room for a reply.
class ReplyPatienceTest : public ServerTest {
 protected:
  ReplyPatienceTest() : ServerTest({.reply_patience = absl::Milliseconds(500)}) {}

  // A client that reads none of `calls` answers of `answer_bytes` is given up on: its link
  // closes while the server goes on answering another client, and the client, reading at
  // last, finds the answers sent and PEER_DIED for the rest.
  void ExpectTheClientGivenUp(int calls, int answer_bytes, int answers_that_fit) {
    BigCalls big(calls);  // outlives the channel that may still call back into it
    std::unique_ptr<LinkChannel> idle = Connect({}, {.completion_thread = false});
    std::unique_ptr<LinkChannel> busy = Connect();
    ASSERT_TRUE(Echo(*busy, "before").ok());
    StartBigCalls(*idle, answer_bytes, big);
    ASSERT_TRUE(Eventually([&] { return server_.live_links() == 1; }))
        << service_.big.load() << " answered, " << server_.live_links() << " links";
    EXPECT_GT(service_.big.load(), answers_that_fit);
    EXPECT_TRUE(Echo(*busy, "after").ok());
    ExpectAnsweredThenPeerDied(*idle, big, answer_bytes, answers_that_fit);
  }
};

TEST_P(ReplyPatienceTest, AClientThatReadsNoInlineRepliesIsGivenUpOn) {
  ExpectTheClientGivenUp(12, 3000, 4);  // four answers fit in the 16 KiB ring
}

TEST_P(ReplyPatienceTest, AClientThatKeepsItsRepliesBuffersIsGivenUpOn) {
  ExpectTheClientGivenUp(12, 6000, 7);  // seven 8 KiB buffers fit in the 64 KiB arena
}

INSTANTIATE_TEST_SUITE_P(InlineAndPool, ReplyPatienceTest, ::testing::Values(0, 2), InlineOrPool);

INSTANTIATE_TEST_SUITE_P(InlineAndPool, ServerTest, ::testing::Values(0, 2), InlineOrPool);

TEST(ServerLifecycleTest, WaitReturnsOnceAnotherThreadShutsTheServerDown) {
  Server server;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    server.Wait();
    returned.store(true);
  });
  server.Shutdown();
  waiter.join();  // a Wait() that missed the Shutdown() would hang the test here
  EXPECT_TRUE(returned.load());
  server.Wait();  // and after it, returns at once
}

// A process that serves until SIGTERM, as a main does with StopSignals: the signal reaches
// Wait() (it does not kill the process, whose server threads started after StopSignals),
// and the process shuts its server down and exits 0.
TEST(ServerLifecycleTest, StopSignalsLetAMainShutDownOnSigterm) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  syslink::testing::ChildProcess child = syslink::testing::ChildProcess::Fork([&] {
    close(ready[0]);
    StopSignals stop;
    Server server;
    GateService service;
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    if (!pair.ok()) return 1;
    server.ServeLink(&service, std::move(pair->second));
    if (write(ready[1], "r", 1) != 1) return 2;
    const int signal = stop.Wait();
    server.Shutdown();
    return signal == SIGTERM ? 0 : 3;
  });
  close(ready[1]);
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  child.Kill(SIGTERM);
  EXPECT_EQ(child.WaitFor(absl::Seconds(10)), syslink::testing::ChildProcess::Exited(0));
}

TEST(ServerLimitTest, RaisesTheDescriptorLimitToTheHardLimit) {
  Server server;
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, limit.rlim_max);
  EXPECT_GE(server.max_links(), (limit.rlim_cur - 64) / 3 - 1);
}

TEST(ServerLimitTest, ALinkPastTheLimitIsClosedAndTheOthersGoOn) {
  GateService service;
  Server server(ServerOptions{.max_links = 2});
  std::vector<std::unique_ptr<LinkChannel>> channels;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    ASSERT_TRUE(pair.ok());
    server.ServeLink(&service, std::move(pair->second));
    channels.push_back(std::make_unique<LinkChannel>(std::move(pair->first)));
  }
  Text request, response;
  EXPECT_TRUE(channels[0]->Call(kEcho, request, &response, nullptr).ok());
  EXPECT_TRUE(channels[1]->Call(kEcho, request, &response, nullptr).ok());
  absl::Status refused = channels[2]->Call(kEcho, request, &response, nullptr);
  EXPECT_TRUE(IsPeerDied(refused)) << refused;
  EXPECT_EQ(server.live_links(), 2u);
}

// Links handed over from many threads at once (as acceptors of several services do) are
// counted and added in one step: no two pass the limit together.
TEST(ServerLimitTest, LinksServedFromManyThreadsAtOnceStayWithinTheLimit) {
  GateService service;
  constexpr int kLimit = 4, kThreads = 8;
  for (int round = 0; round < 20; ++round) {
    Server server(ServerOptions{.max_links = kLimit});
    std::vector<Link> clients, ends;
    for (int i = 0; i < kThreads; ++i) {
      absl::StatusOr<LinkPair> pair = Link::CreatePair();
      ASSERT_TRUE(pair.ok());
      clients.push_back(std::move(pair->first));
      ends.push_back(std::move(pair->second));
    }
    absl::Notification go;
    std::vector<std::thread> threads;
    for (Link& end : ends) {
      threads.emplace_back([&server, &service, &go, &end] {
        go.WaitForNotification();
        server.ServeLink(&service, std::move(end));
      });
    }
    go.Notify();
    for (std::thread& thread : threads) thread.join();
    // The links refused are closed; those served stay open while their clients do.
    ASSERT_EQ(server.live_links(), static_cast<size_t>(kLimit)) << "round " << round;
  }
}

}  // namespace
}  // namespace syslink::rpc
