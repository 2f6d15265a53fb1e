// NamedChannel against a broker and servers in processes of their own: a call after the
// server was killed and replaced reaches the new server, the calls outstanding at the
// death fail once with PEER_DIED, and wait-for-ready waits for a server that starts late.

#include "rpc/named_channel.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/stop_signals.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/status.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Text;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::ThreadState;

constexpr char kName[] = "syslink.rpc.test.Named";
constexpr Method kWho{MethodId("syslink.rpc.test.Named.Who"), "/syslink.rpc.test.Named/Who",
                      MethodKind::kUnary};
constexpr Method kHang{MethodId("syslink.rpc.test.Named.Hang"), "/syslink.rpc.test.Named/Hang",
                       MethodKind::kUnary};

// Who answers the server's pid; Hang writes a byte to `entered` and never answers.
class NamedService : public Service {
 public:
  explicit NamedService(int entered) : entered_(entered) {}
  absl::string_view service_name() const override { return kName; }
  absl::Status Dispatch(ServerCall& call) override {
    if (call.method_id() == kHang.id) {
      if (write(entered_, "h", 1) != 1) return absl::InternalError("cannot say so");
      while (true) pause();
    }
    Text response;
    response.set_text(absl::StrCat(getpid()));
    call.SetResponse(response);
    return absl::OkStatus();
  }

 private:
  int entered_;
};

class NamedChannelTest : public ::testing::Test {
 protected:
  NamedChannelTest() : dir_("named") {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir_.SocketPath());
    EXPECT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  // A server process registering kName; returns once it is registered. Its Hang method
  // writes to `hang_entered`.
  ChildProcess StartServer(int hang_entered = -1) {
    int ready[2];
    EXPECT_EQ(pipe(ready), 0);
    broker::BrokerConnectOptions options = broker_->ConnectOptions();
    ChildProcess child = ChildProcess::Fork([&] {
      close(ready[0]);
      StopSignals stop;
      NamedService service(hang_entered);
      Server server;
      if (!server.ServeBroker(&service, {.name = kName, .broker = options}).ok()) {
        return 1;
      }
      if (write(ready[1], "r", 1) != 1) return 2;
      stop.Wait();
      return 0;
    });
    close(ready[1]);
    char byte;
    EXPECT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    return child;
  }

  // The pid of the server that answered, or the call's status.
  absl::StatusOr<pid_t> Who(NamedChannel& channel, ClientContext* context = nullptr) {
    Text request, response;
    absl::Status status = channel.Call(kWho, request, &response, context);
    if (!status.ok()) return status;
    int pid = 0;
    if (!absl::SimpleAtoi(response.text(), &pid)) return absl::InternalError(response.text());
    return pid;
  }

  ScratchDirectory dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(NamedChannelTest, AfterTheServerIsReplacedACallReachesTheNewOne) {
  int entered[2];
  ASSERT_EQ(pipe(entered), 0);
  ChildProcess first = StartServer(entered[1]);
  close(entered[1]);
  std::shared_ptr<NamedChannel> channel = NamedChannel::Create(kName, broker_->ConnectOptions());
  ASSERT_EQ(Who(*channel).value_or(-1), first.pid());

  // A call outstanding when the server dies fails once, with PEER_DIED.
  absl::Status hung;
  std::thread caller([&] {
    Text request, response;
    hung = channel->Call(kHang, request, &response, nullptr);
  });
  char byte;
  ASSERT_EQ(read(entered[0], &byte, 1), 1);  // the call runs in the server
  close(entered[0]);
  first.Kill(SIGKILL);
  caller.join();
  EXPECT_TRUE(IsPeerDied(hung)) << hung;
  EXPECT_EQ(first.Wait(), ChildProcess::KilledBy(SIGKILL));

  ChildProcess second = StartServer();
  absl::StatusOr<pid_t> who = Who(*channel);
  if (!who.ok()) {
    // The channel had not yet seen its link close: that call failed, the next reconnects.
    EXPECT_TRUE(IsPeerDied(who.status())) << who.status();
    who = Who(*channel);
  }
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(*who, second.pid());
  second.Kill(SIGTERM);
  EXPECT_EQ(second.Wait(), ChildProcess::Exited(0));
}

// The number of descriptors this process has open.
int OpenDescriptors() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

// A replaced link's channel goes once nothing is left to finish on it and nobody holds it:
// a channel whose server restarts over and over keeps a bounded number of descriptors.
TEST_F(NamedChannelTest, ReplacedLinksAreLetGoOfWhenNothingUsesThem) {
  std::shared_ptr<NamedChannel> channel = NamedChannel::Create(kName, broker_->ConnectOptions());
  auto reach = [&](pid_t pid) {
    // The first call after a restart may fail with PEER_DIED: the next reconnects.
    absl::StatusOr<pid_t> who = Who(*channel);
    if (!who.ok()) who = Who(*channel);
    EXPECT_EQ(who.value_or(-1), pid) << who.status();
  };
  std::optional<ChildProcess> server(StartServer());
  reach(server->pid());
  // One replaced channel held by the caller: it stays usable (closed) while held.
  absl::StatusOr<std::shared_ptr<LinkChannel>> held = channel->Current(nullptr);
  ASSERT_TRUE(held.ok());
  int after_first_restart = 0;
  for (int restart = 0; restart < 6; ++restart) {
    server->Kill(SIGTERM);
    EXPECT_EQ(server->Wait(), ChildProcess::Exited(0));
    server.reset();
    server.emplace(StartServer());
    reach(server->pid());
    if (restart == 0) after_first_restart = OpenDescriptors();
  }
  // Each channel kept would hold five descriptors (socket, watch, region, two eventfds).
  EXPECT_LT(OpenDescriptors(), after_first_restart + 5);
  EXPECT_FALSE((*held)->status().ok());
  server->Kill(SIGTERM);
  EXPECT_EQ(server->Wait(), ChildProcess::Exited(0));
}

// One call waits for a server; another, which does not wait, fails at once meanwhile.
TEST_F(NamedChannelTest, ACallWaitingForAServerHoldsUpNoOther) {
  std::shared_ptr<NamedChannel> channel = NamedChannel::Create(kName, broker_->ConnectOptions());
  ClientContext waiting;
  waiting.set_wait_for_ready(true);
  waiting.set_timeout(syslink::testing::kPatience * 3);
  std::atomic<bool> waited_out{false};
  std::atomic<pid_t> tid{0};
  absl::Status waited;
  std::thread waiter([&] {
    tid.store(gettid());
    waited = Who(*channel, &waiting).status();
    waited_out = true;
  });
  // Once the waiting call sleeps on the broker, a call that does not wait is answered
  // NOT_FOUND while it still waits.
  ASSERT_TRUE(Eventually([&] { return tid.load() != 0 && ThreadState(tid.load()) == 'S'; }));
  EXPECT_EQ(Who(*channel).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(waited_out.load());
  waiting.TryCancel();
  waiter.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kCancelled) << waited;
}

TEST_F(NamedChannelTest, WithoutAServerACallFailsAtOnceUnlessItWaitsForReady) {
  std::shared_ptr<NamedChannel> channel = NamedChannel::Create(kName, broker_->ConnectOptions());
  EXPECT_EQ(Who(*channel).status().code(), absl::StatusCode::kNotFound);

  ClientContext short_wait;
  short_wait.set_wait_for_ready(true);
  short_wait.set_timeout(absl::Milliseconds(100));
  EXPECT_EQ(Who(*channel, &short_wait).status().code(), absl::StatusCode::kDeadlineExceeded);

  // A call that waits is answered by a server that registers while it waits.
  ClientContext context;
  context.set_wait_for_ready(true);
  context.set_timeout(absl::Seconds(30));
  absl::StatusOr<pid_t> who;
  std::atomic<pid_t> tid{0};
  std::thread caller([&] {
    tid.store(gettid());
    who = Who(*channel, &context);
  });
  // The server is forked once the caller sleeps on the broker: a fork while a thread is
  // being started can leave the child a runtime lock that thread held (ASan's thread
  // registry), and the child's own threads then wait on it for ever.
  ASSERT_TRUE(Eventually([&] { return tid.load() != 0 && ThreadState(tid.load()) == 'S'; }));
  ChildProcess server = StartServer();
  caller.join();
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(*who, server.pid());
  server.Kill(SIGTERM);
  EXPECT_EQ(server.Wait(), ChildProcess::Exited(0));
}

// TryCancel() ends a call that waits for its server, at once: the wait is the broker's, and
// the call sleeps on it beside the cancel eventfd, not on a timer.
TEST_F(NamedChannelTest, TryCancelEndsAWaitForAServer) {
  std::shared_ptr<NamedChannel> channel = NamedChannel::Create(kName, broker_->ConnectOptions());
  ClientContext context;
  context.set_wait_for_ready(true);
  absl::StatusOr<pid_t> who;
  std::atomic<pid_t> tid{0};
  std::thread caller([&] {
    tid.store(gettid());
    who = Who(*channel, &context);
  });
  ASSERT_TRUE(Eventually([&] { return tid.load() != 0 && ThreadState(tid.load()) == 'S'; }));
  context.TryCancel();  // the call has no deadline: only the cancel can end it
  caller.join();
  EXPECT_EQ(who.status().code(), absl::StatusCode::kCancelled) << who.status();
}

}  // namespace
}  // namespace syslink::rpc
