// The consumer's service over well-known types (google.protobuf.Empty, Timestamp, Duration),
// generated and served through @syslink, called across a link.
#include <unistd.h>

#include <memory>
#include <utility>

#include "clock/clock.syslink.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "syslink/link.h"

namespace acme::clock {
namespace {

using google::protobuf::Duration;
using google::protobuf::Empty;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

class ClockServer : public Clock {
 public:
  absl::Status Now(syslink::rpc::ServerContext& context, const Empty& request,
                   Timestamp* response) override {
    *response = TimeUtil::GetCurrentTime();
    return absl::OkStatus();
  }

  absl::Status Until(syslink::rpc::ServerContext& context, const Alarm& request,
                     Duration* response) override {
    const Timestamp now = TimeUtil::GetCurrentTime();
    if (request.at() <= now) return absl::InvalidArgumentError(request.label() + " is past");
    *response = request.at() - now;
    return absl::OkStatus();
  }
};

class ClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<syslink::LinkPair> pair = syslink::Link::CreatePair();
    ASSERT_TRUE(pair.ok()) << pair.status();
    server_.ServeLink(&service_, std::move(pair->second), {getpid(), getuid(), getgid()});
    stub_ = std::make_unique<ClockStub>(
        std::make_shared<syslink::rpc::LinkChannel>(std::move(pair->first)));
  }
  void TearDown() override { server_.Shutdown(); }

  ClockServer service_;
  syslink::rpc::Server server_;
  std::unique_ptr<ClockStub> stub_;
};

TEST_F(ClockTest, AnEmptyRequestGetsTheServersTime) {
  const Timestamp before = TimeUtil::GetCurrentTime();
  absl::StatusOr<Timestamp> now = stub_->Now(Empty());
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_GE(*now, before);
  EXPECT_LE(*now, TimeUtil::GetCurrentTime());
}

TEST_F(ClockTest, ATimestampInARequestGetsADuration) {
  Alarm alarm;
  *alarm.mutable_at() = TimeUtil::GetCurrentTime() + TimeUtil::SecondsToDuration(3600);
  alarm.set_label("tea");
  absl::StatusOr<Duration> until = stub_->Until(alarm);
  ASSERT_TRUE(until.ok()) << until.status();
  EXPECT_GT(*until, TimeUtil::SecondsToDuration(3590));
  EXPECT_LE(*until, TimeUtil::SecondsToDuration(3600));
}

TEST_F(ClockTest, ThePastIsRefused) {
  Alarm alarm;
  *alarm.mutable_at() = TimeUtil::SecondsToTimestamp(0);
  alarm.set_label("1970");
  absl::StatusOr<Duration> until = stub_->Until(alarm);
  EXPECT_EQ(until.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(until.status().message(), "1970 is past");
}

}  // namespace
}  // namespace acme::clock
