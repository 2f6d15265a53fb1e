// ServerContext::OnCancel() over gRPC: ServeGrpc runs a method's hook when its caller
// cancels, for a stream as for a unary call. Each method waits for nothing but its hook:
// without it these tests would hang. (rpc/cancel_hook_test.cc covers links and in-process
// channels.)

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/testdata/cancel_waiter.h"

namespace syslink::rpc {
namespace {

// A CancelWaiter served by ServeGrpc, and a stub calling it over gRPC.
class GrpcCancelHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = ServeGrpc(&service_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = std::make_unique<test::StreamerStub>(std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server_->port()))));
  }

  test::CancelWaiter service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<test::StreamerStub> stub_;
};

TEST_F(GrpcCancelHookTest, RunsWhenTheCallerCancelsAStream) {
  ClientContext context;
  auto reader = stub_->Forever(test::Number(), &context);
  test::Number number;
  ASSERT_TRUE(reader->Read(&number));  // the method has set its hook
  context.TryCancel();
  // Finish() tells the server; the cancel waits for a call into the stream to carry it.
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  service_.returned().WaitForNotification();
}

TEST_F(GrpcCancelHookTest, RunsWhenTheCallerCancelsAUnaryCall) {
  ClientContext context;
  absl::Status status;
  std::thread caller([&] { status = stub_->Release(test::Number(), &context).status(); });
  service_.entered().WaitForNotification();  // the method has set its hook
  context.TryCancel();
  service_.returned().WaitForNotification();
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
}

}  // namespace
}  // namespace syslink::rpc
