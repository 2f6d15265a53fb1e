// What ends at once, with no polling interval to wait out: a sync call cancelled while its
// method runs, and a server shut down with many idle links; and a reader that sleeps.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/test_service.pb.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;

constexpr Method kHold{MethodIdOfPath("/syslink.rpc.test.Wake/Hold"), "/syslink.rpc.test.Wake/Hold",
                       MethodKind::kUnary};
constexpr Method kWait{MethodIdOfPath("/syslink.rpc.test.Wake/Wait"), "/syslink.rpc.test.Wake/Wait",
                       MethodKind::kUnary};

// Hold says it started, then runs until its caller no longer waits (at most 10 s).
class HoldService : public Service {
 public:
  std::atomic<int> started{0};
  absl::string_view service_name() const override { return "syslink.rpc.test.Wake"; }
  absl::Status Dispatch(ServerCall& call) override {
    started.fetch_add(1);
    started.notify_all();
    (void)testing::Eventually([&] { return call.context().cancelled(); }, absl::Seconds(10),
                              absl::Microseconds(50));
    return absl::CancelledError("the caller left");
  }
};

// Wait runs until the test releases it.
class WaitService : public Service {
 public:
  std::atomic<int> started{0};
  std::atomic<bool> released{false};
  absl::string_view service_name() const override { return "syslink.rpc.test.Wake"; }
  absl::Status Dispatch(ServerCall& call) override {
    started.fetch_add(1);
    started.notify_all();
    if (call.method_id() == kHold.id) {
      (void)testing::Eventually([&] { return call.context().cancelled(); }, absl::Seconds(10),
                                absl::Microseconds(50));
      return absl::CancelledError("the caller left");
    }
    released.wait(false);
    return absl::OkStatus();
  }
};

absl::Duration Median(std::vector<absl::Duration> durations) {
  std::sort(durations.begin(), durations.end());
  return durations[durations.size() / 2];
}

TEST(WakeTest, TryCancelEndsABlockedSyncCallAtOnce) {
  HoldService service;
  Server server(ServerOptions{.workers = 1});
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  server.ServeLink(&service, std::move(pair->second));
  LinkChannel channel(std::move(pair->first));

  constexpr int kCalls = 100;
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < kCalls; ++i) {
    ClientContext context;
    absl::Status status;
    absl::Time returned;
    std::atomic<pid_t> tid{0};
    std::thread caller([&] {
      tid.store(gettid());
      Text request, response;
      status = channel.Call(kHold, request, &response, &context);
      returned = absl::Now();
    });
    // The method runs, so the caller waits for it, and the caller has gone to sleep.
    service.started.wait(i);
    while (tid.load() == 0) std::this_thread::yield();
    // Asleep: blocked in a system call, here the channel's poll().
    ASSERT_TRUE(testing::Eventually([&] { return testing::ThreadState(tid.load()) == 'S'; }));
    const absl::Time cancelled = absl::Now();
    context.TryCancel();
    caller.join();
    ASSERT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
    latencies.push_back(returned - cancelled);
  }
  const absl::Duration median = Median(latencies);
  std::printf("TryCancel to CANCELLED: median %s of %d calls\n",
              absl::FormatDuration(median).c_str(), kCalls);
  // Woken at once: tens of microseconds here. A reader that looked at the cancel flags
  // every 10 ms made the median 10 ms (it is caught as it goes to sleep), which this bound
  // catches with a margin of about 50x for a loaded machine or a sanitizer build.
  EXPECT_LT(median, absl::Milliseconds(3));
}

TEST(WakeTest, AReaderSleepsAfterACallWithADeadlineHasEnded) {
  WaitService service;
  Server server(ServerOptions{.workers = 1});
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  server.ServeLink(&service, std::move(pair->second));
  LinkChannel channel(std::move(pair->first));
  {
    ClientContext context;
    context.set_deadline(absl::Now() + absl::Milliseconds(5));
    Text request, response;
    ASSERT_EQ(channel.Call(kHold, request, &response, &context).code(),
              absl::StatusCode::kDeadlineExceeded);
  }
  // The deadline is past, and the call that had it is over. A call with no context waits
  // for a slow method: its reader goes to sleep.
  service.started.wait(0);
  std::atomic<pid_t> tid{0};
  absl::Status status;
  std::thread caller([&] {
    tid.store(gettid());
    Text request, response;
    status = channel.Call(kWait, request, &response, nullptr);
  });
  service.started.wait(1);
  while (tid.load() == 0) std::this_thread::yield();
  EXPECT_TRUE(testing::Eventually([&] { return testing::ThreadState(tid.load()) == 'S'; },
                                  absl::Seconds(2)))
      << "the reader spins: it still watches the past deadline";
  service.released.store(true);
  service.released.notify_all();
  caller.join();
  EXPECT_TRUE(status.ok()) << status;
}

TEST(WakeTest, ShutdownWithManyIdleLinksReturnsPromptly) {
  HoldService service;
  auto server = std::make_unique<Server>();
  std::vector<std::unique_ptr<LinkChannel>> channels;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    ASSERT_TRUE(pair.ok()) << pair.status();
    server->ServeLink(&service, std::move(pair->second));
    channels.push_back(std::make_unique<LinkChannel>(std::move(pair->first)));
  }
  const absl::Time start = absl::Now();
  server->Shutdown();
  const absl::Duration took = absl::Now() - start;
  std::printf("Shutdown with 100 idle links: %s\n", absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Milliseconds(50));
  EXPECT_EQ(server->live_links(), 0u);
}

}  // namespace
}  // namespace syslink::rpc
