// grpc.health.v1.Health as every Server serves it, called through the generated HealthStub
// over a real link: Check, Watch through a change and through Shutdown(); and a Watch
// called directly, which ends when its caller leaves or its deadline passes.

#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/health/health.syslink.h"
#include "rpc/health_service.h"
#include "rpc/internal/server_context_access.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "syslink/status.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_state.h"

namespace syslink::rpc {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using grpc::health::v1::HealthStub;

class CounterService : public test::Counter {};

class HealthTest : public ::testing::Test {
 protected:
  HealthTest() {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok());
    server_.ServeLink(&counter_, std::move(pair->second));
    channel_ = std::make_shared<LinkChannel>(std::move(pair->first));
  }

  absl::StatusOr<HealthCheckResponse> Check(const std::string& service) {
    HealthStub health(channel_);
    HealthCheckRequest request;
    request.set_service(service);
    return health.Check(request);
  }

  CounterService counter_;
  Server server_;
  std::shared_ptr<LinkChannel> channel_;
};

TEST_F(HealthTest, CheckReportsTheServedServiceAndTheServer) {
  for (const char* name : {"", "syslink.rpc.test.Counter"}) {
    absl::StatusOr<HealthCheckResponse> status = Check(name);
    ASSERT_TRUE(status.ok()) << name << ": " << status.status();
    EXPECT_EQ(status->status(), HealthCheckResponse::SERVING) << name;
  }
  EXPECT_EQ(Check("no.Such").status().code(), absl::StatusCode::kNotFound);
  server_.SetServingStatus("syslink.rpc.test.Counter", HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("syslink.rpc.test.Counter")->status(), HealthCheckResponse::NOT_SERVING);
  // The service's own rpcs still answer beside it.
  test::CounterStub stub(channel_);
  EXPECT_EQ(stub.Next(test::Number()).status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(HealthTest, WatchSendsEachChangeAndEndsAtShutdown) {
  HealthStub health(channel_);
  HealthCheckRequest request;
  request.set_service("syslink.rpc.test.Counter");
  ClientContext context;
  auto watch = health.Watch(request, &context);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  server_.SetServingStatus("syslink.rpc.test.Counter", HealthCheckResponse::NOT_SERVING);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  server_.SetServingStatus("syslink.rpc.test.Counter", HealthCheckResponse::SERVING);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // Shutdown() ends the watch: NOT_SERVING is its last message, when the link is still
  // there to carry it; no watch outlives the server.
  std::thread shutdown([&] { server_.Shutdown(); });
  while (watch->Read(&response)) {
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  }
  absl::Status status = watch->Finish();
  EXPECT_TRUE(status.ok() || IsPeerDied(status) || absl::IsCancelled(status)) << status;
  shutdown.join();
}

TEST_F(HealthTest, WatchOfAnUnknownServiceSaysSo) {
  HealthStub health(channel_);
  HealthCheckRequest request;
  request.set_service("no.Such");
  ClientContext context;
  auto watch = health.Watch(request, &context);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  context.TryCancel();
  EXPECT_EQ(watch->Finish().code(), absl::StatusCode::kCancelled);
}

// The server's side of a Watch's stream: takes what the watch writes, and notifies the
// first write.
class WatchStream final : public ServerStream {
 public:
  bool Read(google::protobuf::MessageLite*, Attachment*) override { return false; }
  bool Write(const google::protobuf::MessageLite&, Attachment) override {
    if (!written_.HasBeenNotified()) written_.Notify();
    return true;
  }
  absl::Notification& written() { return written_; }

 private:
  absl::Notification written_;
};

// Runs HealthService::Watch on a thread of its own, as a server runs a stream's method.
class DirectWatch {
 public:
  DirectWatch(HealthService& health, absl::Time deadline)
      : context_(PeerIdentity{}, deadline),
        request_(Request()),
        call_(HealthService::kWatch.id, std::as_bytes(std::span(request_)), &context_) {
    call_.set_stream(&stream_);
    thread_ = std::thread([this, &health] {
      tid_.store(gettid());
      status_ = health.Dispatch(call_);
    });
  }
  // Whether the watch's thread is blocked (in its wait for news, once it has written).
  bool Asleep() const { return tid_.load() != 0 && syslink::testing::ThreadState(tid_) == 'S'; }
  // A test that failed early still ends the watch.
  ~DirectWatch() {
    if (!thread_.joinable()) return;
    internal::ServerContextAccess::MarkCancelled(context_);
    thread_.join();
  }
  // The watch's status once it returned.
  absl::Status Join() {
    thread_.join();
    return status_;
  }
  ServerContext& context() { return context_; }
  WatchStream& stream() { return stream_; }

 private:
  static std::string Request() {
    HealthCheckRequest request;
    request.set_service("kv.Store");
    return request.SerializeAsString();
  }

  ServerContext context_;
  const std::string request_;
  WatchStream stream_;
  ServerCall call_;
  absl::Status status_;
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

TEST(HealthServiceTest, AWatchEndsWhenItsCallerLeaves) {
  HealthService health;
  health.SetServingStatus("kv.Store", HealthCheckResponse::SERVING);
  DirectWatch watch(health, absl::InfiniteFuture());
  watch.stream().written().WaitForNotification();
  // Nothing changes from here on: once the watch waits, only the caller's leaving wakes it.
  ASSERT_TRUE(syslink::testing::Eventually([&] { return watch.Asleep(); }));
  internal::ServerContextAccess::MarkCancelled(watch.context());
  EXPECT_EQ(watch.Join().code(), absl::StatusCode::kCancelled);
}

TEST(HealthServiceTest, AWatchEndsWhenItsDeadlinePasses) {
  HealthService health;
  health.SetServingStatus("kv.Store", HealthCheckResponse::SERVING);
  DirectWatch watch(health, absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(watch.Join().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace syslink::rpc
