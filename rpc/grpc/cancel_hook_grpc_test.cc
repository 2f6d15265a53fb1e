// ServerContext::OnCancel() over gRPC: ServeGrpc runs a method's hook when its caller
// cancels, for a stream as for a unary call. The stream's method waits for nothing but its
// hook: without it this test would hang. (rpc/cancel_hook_test.cc covers links and
// in-process channels.)

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/testdata/cancel_waiter.h"

namespace syslink::rpc {
namespace {

TEST(GrpcCancelHookTest, RunsWhenTheCallerCancelsAStream) {
  test::CancelWaiter service;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = ServeGrpc(&service);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = std::make_shared<GrpcChannel>(
      CreateGrpcChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  test::StreamerStub stub(channel);
  ClientContext context;
  auto reader = stub.Forever(test::Number(), &context);
  test::Number number;
  ASSERT_TRUE(reader->Read(&number));  // the method has set its hook
  context.TryCancel();
  // Finish() tells the server; the cancel waits for a call into the stream to carry it.
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  service.returned().WaitForNotification();
}

}  // namespace
}  // namespace syslink::rpc
