// One LinkChannel shared by many threads, against a server in another process (with a
// worker pool, so the server runs a link's calls at once): a fast call is not held up by a
// slow one, async callbacks run with nobody driving the channel and one at a time, many
// threads' calls all get their own answers, and a server killed with SIGKILL answers every
// waiting thread.

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/status.h"
#include "tests/support/eventually.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::ForkedServerOptions;
using ::syslink::testing::Soon;

constexpr Method kEcho{MethodId("syslink.rpc.test.Shared.Echo"), "/syslink.rpc.test.Shared/Echo",
                       MethodKind::kUnary};
constexpr Method kHold{MethodId("syslink.rpc.test.Shared.Hold"), "/syslink.rpc.test.Shared/Hold",
                       MethodKind::kUnary};

// Echo answers at once; Hold answers CANCELLED once its caller gives up (at most 10 s).
class SharedService : public Service {
 public:
  absl::string_view service_name() const override { return "syslink.rpc.test.Shared"; }
  absl::Status Dispatch(ServerCall& call) override {
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    if (call.method_id() == kEcho.id) {
      call.SetResponse(request);
      return absl::OkStatus();
    }
    Eventually([&] { return call.context().cancelled(); });
    return absl::CancelledError("held until the caller gave up");
  }
};

class ChannelConcurrencyTest : public ::testing::TestWithParam<ring::WaitMode> {
 protected:
  ChannelConcurrencyTest() : server_([] { return std::make_unique<SharedService>(); }, Options()) {}

  ForkedServerOptions Options() const {
    ForkedServerOptions options;
    options.link.wait.mode = GetParam();
    options.server.workers = 8;
    return options;
  }
  LinkChannel& channel() { return *server_.channel(); }

  absl::Status Echo(const std::string& text) {
    Text request, response;
    request.set_text(text);
    absl::Status status = channel().Call(kEcho, request, &response, nullptr);
    if (status.ok() && response.text() != text) {
      return absl::InternalError(absl::StrCat("asked ", text, ", answered ", response.text()));
    }
    return status;
  }

  ForkedServer server_;
};

TEST_P(ChannelConcurrencyTest, AFastCallCompletesWhileAnotherThreadsSlowCallIsOutstanding) {
  ClientContext slow_context;
  std::atomic<bool> slow_done{false};
  absl::Status slow_status;
  std::thread slow([&] {
    Text request, response;
    slow_status = channel().Call(kHold, request, &response, &slow_context);
    slow_done.store(true);
  });
  // Whichever thread reads the link, this one's calls are answered while Hold runs.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Echo(absl::StrCat("fast ", i)).ok());
  EXPECT_FALSE(slow_done.load());  // Hold answers only once cancelled
  slow_context.TryCancel();
  slow.join();
  EXPECT_EQ(slow_status.code(), absl::StatusCode::kCancelled) << slow_status;
}

TEST_P(ChannelConcurrencyTest, AsyncCallbacksRunWithNobodyDrivingTheChannel) {
  constexpr int kCalls = 20;
  std::vector<Text> requests(kCalls), responses(kCalls);
  std::atomic<int> completed{0}, correct{0};
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_text(absl::StrCat("async ", i));
    channel().CallAsync(kEcho, requests[i], &responses[i], nullptr, [&, i](absl::Status s) {
      if (s.ok() && responses[i].text() == requests[i].text()) ++correct;
      ++completed;
    });
  }
  // No Drain(), no other call: the channel's completion thread runs the callbacks.
  ASSERT_TRUE(Eventually([&] { return completed.load() == kCalls; }));
  EXPECT_EQ(correct.load(), kCalls);
  EXPECT_EQ(channel().Drain(absl::Now()), 0u);
}

TEST_P(ChannelConcurrencyTest, EightThreadsEachGetTheirOwnAnswers) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 300;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        if (!Echo(absl::StrCat("thread ", t, " call ", i)).ok()) ++wrong;
      }
    });
  }
  // Async calls interleaved with the sync ones.
  std::atomic<int> async_ok{0};
  std::vector<Text> requests(kCalls), responses(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_text(absl::StrCat("async ", i));
    channel().CallAsync(kEcho, requests[i], &responses[i], nullptr, [&, i](absl::Status s) {
      if (s.ok() && responses[i].text() == requests[i].text()) ++async_ok;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(channel().Drain(Soon()), 0u);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(async_ok.load(), kCalls);
}

// Callbacks run on the completion thread and on threads in Drain(): never two at once.
TEST_P(ChannelConcurrencyTest, CallbacksRunOneAtATimeWhileThreadsCallAndDrain) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  constexpr int kInFlight = 4;
  std::atomic<int> running{0}, overlapped{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Text> requests(kInFlight), responses(kInFlight);
      std::atomic<int> done{0};
      for (int round = 0; round < kRounds; ++round) {
        done.store(0);
        for (int i = 0; i < kInFlight; ++i) {
          requests[i].set_text(absl::StrCat("thread ", t, " round ", round, " call ", i));
          channel().CallAsync(kEcho, requests[i], &responses[i], nullptr, [&, i](absl::Status s) {
            if (running.fetch_add(1) != 0) ++overlapped;
            std::this_thread::yield();  // widens the window another callback could run in
            if (s.ok() && responses[i].text() == requests[i].text()) ++ok;
            running.fetch_sub(1);
            ++done;
          });
        }
        // Round by round: the callbacks use this round's requests and responses. Drain()
        // waits for every thread's calls, so it is given a short deadline each time.
        while (done.load() < kInFlight) (void)channel().Drain(absl::Now() + absl::Milliseconds(2));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(channel().Drain(Soon()), 0u);
  EXPECT_EQ(overlapped.load(), 0);
  EXPECT_EQ(ok.load(), kThreads * kRounds * kInFlight);
}

// Each callback starts the next call, so replies never stop coming: Drain() still returns
// at its deadline.
TEST_P(ChannelConcurrencyTest, DrainReturnsAtItsDeadlineWhileCallbacksKeepCallsGoing) {
  Text request, response;
  request.set_text("again");
  std::atomic<bool> stop{false};
  std::atomic<int> completed{0};
  std::function<void(absl::Status)> next = [&](absl::Status s) {
    ++completed;
    if (s.ok() && !stop.load()) channel().CallAsync(kEcho, request, &response, nullptr, next);
  };
  channel().CallAsync(kEcho, request, &response, nullptr, next);
  ASSERT_TRUE(Eventually([&] { return completed.load() >= 2; }));  // the chain runs
  const absl::Time start = absl::Now();
  (void)channel().Drain(start + absl::Milliseconds(50));  // the chain never lets it finish
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  stop.store(true);
  EXPECT_EQ(channel().Drain(Soon()), 0u);
}

TEST_P(ChannelConcurrencyTest, AServerKilledMidCallAnswersEveryWaitingThread) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<absl::Status> statuses(kThreads);
  std::vector<ClientContext> contexts(kThreads);
  std::atomic<int> started{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Text request, response;
      ++started;
      statuses[t] = channel().Call(kHold, request, &response, &contexts[t]);
    });
  }
  ASSERT_TRUE(Eventually([&] { return started.load() == kThreads; }));
  ASSERT_TRUE(Echo("alive").ok());  // a Hold not sent by the kill fails the same way
  server_.process().Kill(SIGKILL);
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : statuses) EXPECT_TRUE(IsPeerDied(status)) << status;
  EXPECT_TRUE(IsPeerDied(Echo("after")));
}

INSTANTIATE_TEST_SUITE_P(WaitModes, ChannelConcurrencyTest,
                         ::testing::Values(ring::WaitMode::kHybrid, ring::WaitMode::kBlocking,
                                           ring::WaitMode::kSpin),
                         [](const auto& info) {
                           switch (info.param) {
                             case ring::WaitMode::kHybrid:
                               return std::string("hybrid");
                             case ring::WaitMode::kBlocking:
                               return std::string("blocking");
                             default:
                               return std::string("spin");
                           }
                         });

}  // namespace
}  // namespace syslink::rpc
