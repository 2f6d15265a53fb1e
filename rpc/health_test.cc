// grpc.health.v1.Health as every Server serves it, called through the generated HealthStub
// over a real link: Check, Watch through a change and through Shutdown().

#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "rpc/health/health.syslink.h"
#include "rpc/health_service.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "syslink/status.h"

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

}  // namespace
}  // namespace syslink::rpc
