// ServiceSet: two generated services behind one link, in a server process of its own; one
// channel carries both stubs.

#include "rpc/service_set.h"

#include <memory>

#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Counter;
using ::syslink::rpc::test::CounterStub;
using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Progress;
using ::syslink::rpc::test::Streamer;
using ::syslink::rpc::test::StreamerStub;
using ::syslink::testing::ForkedServer;

class CounterService : public Counter {
 public:
  absl::Status Next(ServerContext&, const Number& request, Number* response) override {
    response->set_n(request.n() + 1);
    return absl::OkStatus();
  }
};

class StreamerService : public Streamer {
 public:
  absl::Status GetProgress(ServerContext&, const Number&, Progress* response) override {
    response->set_written(42);
    return absl::OkStatus();
  }
};

// Both services and the set that serves them, as one Service for ForkedServer.
class BothServices : public Service {
 public:
  BothServices() : set_(*ServiceSet::Create({&counter_, &streamer_})) {}
  absl::string_view service_name() const override { return set_->service_name(); }
  std::span<const Method> methods() const override { return set_->methods(); }
  absl::Status Dispatch(ServerCall& call) override { return set_->Dispatch(call); }

 private:
  CounterService counter_;
  StreamerService streamer_;
  std::unique_ptr<ServiceSet> set_;
};

TEST(ServiceSetTest, OneChannelReachesEveryServiceOfTheServer) {
  ForkedServer server([] { return std::make_unique<BothServices>(); });
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
  CounterService counter;
  StreamerService streamer;
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
