// ServiceSet: two generated services behind one link, in a server process of its own; one
// channel carries both stubs.

#include "rpc/service_set.h"

#include <memory>

#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "rpc/testdata/two_services.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::CounterStub;
using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Progress;
using ::syslink::rpc::test::StreamerStub;
using ::syslink::testing::ForkedServer;

TEST(ServiceSetTest, OneChannelReachesEveryServiceOfTheServer) {
  ForkedServer server([] { return std::make_unique<test::TwoServices>(); });
  CounterStub counter(server.channel());
  StreamerStub streamer(server.channel());
  Number number;
  number.set_n(41);
  absl::StatusOr<Number> next = counter.Next(number);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->n(), 42);
  absl::StatusOr<Progress> progress = streamer.GetProgress(number);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->written(), 42);
  // An rpc of the set's services that is not overridden, and one no service has.
  EXPECT_EQ(streamer.Release(number).status().code(), absl::StatusCode::kUnimplemented);
  constexpr Method kNone{MethodId("nobody.Nothing.Never"), "/nobody.Nothing/Never",
                         MethodKind::kUnary};
  Number response;
  EXPECT_EQ(server.channel()->Call(kNone, number, &response, nullptr).code(),
            absl::StatusCode::kUnimplemented);
}

TEST(ServiceSetTest, RefusesWhatItCannotRoute) {
  test::CounterService counter;
  test::ProgressStreamer streamer;
  EXPECT_EQ(ServiceSet::Create({&counter, &counter}).status().code(),
            absl::StatusCode::kInvalidArgument);  // twice
  EXPECT_EQ(ServiceSet::Create(std::span<Service* const>()).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<ServiceSet>> set = ServiceSet::Create({&counter, &streamer});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ((*set)->names().size(), 2u);
  EXPECT_EQ((*set)->names()[0], "syslink.rpc.test.Counter");
  EXPECT_EQ((*set)->names()[1], "syslink.rpc.test.Streamer");
  EXPECT_EQ((*set)->methods().size(), counter.methods().size() + streamer.methods().size());
}

}  // namespace
}  // namespace syslink::rpc
