// ServeGrpc of a ServiceSet: every service of the set answers over gRPC, unary and
// streaming rpcs alike, as through a link.

#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "rpc/testdata/two_services.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::CounterStub;
using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Progress;
using ::syslink::rpc::test::StreamerStub;

TEST(ServeGrpcSetTest, EveryServiceOfTheSetAnswers) {
  test::TwoServices services;
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = ServeGrpc(&services);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = std::make_shared<GrpcChannel>(
      CreateGrpcChannel(absl::StrCat("127.0.0.1:", (*server)->port())));

  Number five;
  five.set_n(5);
  absl::StatusOr<Number> next = CounterStub(channel).Next(five);  // the set's first service
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->n(), 6);
  absl::StatusOr<Progress> progress = StreamerStub(channel).GetProgress(five);  // its second
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->written(), 42u);

  auto reader = StreamerStub(channel).Countdown(five);
  Number number;
  int count = 0;
  while (reader->Read(&number)) EXPECT_EQ(number.n(), count++);
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(count, 5);
}

}  // namespace
}  // namespace syslink::rpc
