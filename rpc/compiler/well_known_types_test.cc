// A service whose requests, responses and fields are well-known types (testdata/
// well_known.proto), built as users build it: proto_library deps on
// @com_google_protobuf//:timestamp_proto and its siblings, cc_proto_library, and
// cc_syslink_library. The types' C++ code is libprotobuf's own; these tests call the
// generated code through an InProcessChannel and over a real link.

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "rpc/compiler/testdata/well_known.syslink.h"
#include "rpc/context.h"
#include "rpc/in_process_channel.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "syslink/link.h"

namespace syslink::golden::wkt {
namespace {

using google::protobuf::Any;
using google::protobuf::Duration;
using google::protobuf::Empty;
using google::protobuf::StringValue;
using google::protobuf::Struct;
using google::protobuf::Timestamp;
using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::TimeUtil;

constexpr int64_t kStartSeconds = 1'700'000'000;

// A clock that moves only when told, and one lease. Calls come one at a time in these tests.
class TestClock : public Clock {
 public:
  TestClock() {
    lease_.mutable_holder()->set_value("first holder");
    (*lease_.mutable_labels()->mutable_fields())["zone"].set_string_value("eu");
  }

  absl::Status Now(rpc::ServerContext& context, const Empty& request,
                   Timestamp* response) override {
    *response = now_;
    return absl::OkStatus();
  }

  absl::Status Advance(rpc::ServerContext& context, const Duration& request,
                       Empty* response) override {
    if (request.seconds() < 0 || request.nanos() < 0) {
      return absl::InvalidArgumentError("the clock does not go back");
    }
    now_ = now_ + request;  // time_util.h's operators
    return absl::OkStatus();
  }

  absl::Status Renew(rpc::ServerContext& context, const RenewRequest& request,
                     Lease* response) override {
    FieldMaskUtil::MergeMessageTo(request.lease(), request.update_mask(),
                                  FieldMaskUtil::MergeOptions(), &lease_);
    *lease_.mutable_expires() = now_ + lease_.term();
    *response = lease_;
    return absl::OkStatus();
  }

  absl::Status Labels(rpc::ServerContext& context, const Any& request, Struct* response) override {
    Lease lease;
    if (!request.UnpackTo(&lease)) {
      return absl::InvalidArgumentError("expected a Lease, got " + request.type_url());
    }
    *response = lease.labels();
    return absl::OkStatus();
  }

  absl::Status Holder(rpc::ServerContext& context, const Empty& request,
                      StringValue* response) override {
    *response = lease_.holder();
    return absl::OkStatus();
  }

 private:
  Timestamp now_ = TimeUtil::SecondsToTimestamp(kStartSeconds);
  Lease lease_;
};

class WellKnownTypesTest : public ::testing::Test {
 protected:
  TestClock clock_;
  ClockStub stub_{std::make_shared<rpc::InProcessChannel>(&clock_)};
};

TEST_F(WellKnownTypesTest, AnEmptyRequestGetsATimestamp) {
  absl::StatusOr<Timestamp> now = stub_.Now(Empty());
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(TimeUtil::TimestampToSeconds(*now), kStartSeconds);
}

TEST_F(WellKnownTypesTest, ADurationRequestGetsAnEmptyResponse) {
  absl::StatusOr<Empty> empty = stub_.Advance(TimeUtil::MillisecondsToDuration(1500));
  ASSERT_TRUE(empty.ok()) << empty.status();
  absl::StatusOr<Timestamp> now = stub_.Now(Empty());
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(*now), kStartSeconds * 1000 + 1500);
}

TEST_F(WellKnownTypesTest, TheServersStatusReachesTheCallerOfAnEmptyReturningRpc) {
  absl::StatusOr<Empty> empty = stub_.Advance(TimeUtil::SecondsToDuration(-1));
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WellKnownTypesTest, FieldsOfWellKnownTypesAndAFieldMaskCrossTheCall) {
  RenewRequest request;
  request.mutable_lease()->mutable_holder()->set_value("second holder");
  *request.mutable_lease()->mutable_term() = TimeUtil::SecondsToDuration(30);
  (*request.mutable_lease()->mutable_labels()->mutable_fields())["zone"].set_string_value("us");
  FieldMaskUtil::FromString("holder,term", request.mutable_update_mask());

  absl::StatusOr<Lease> lease = stub_.Renew(request);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->holder().value(), "second holder");
  EXPECT_EQ(lease->term().seconds(), 30);
  EXPECT_EQ(TimeUtil::TimestampToSeconds(lease->expires()), kStartSeconds + 30);
  // Not in the mask: kept.
  EXPECT_EQ(lease->labels().fields().at("zone").string_value(), "eu");
}

TEST_F(WellKnownTypesTest, AnAnyRequestIsUnpackedAndAStructReturned) {
  Lease lease;
  (*lease.mutable_labels()->mutable_fields())["tier"].set_number_value(2);
  Any any;
  ASSERT_TRUE(any.PackFrom(lease));
  absl::StatusOr<Struct> labels = stub_.Labels(any);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->fields().at("tier").number_value(), 2);
}

TEST_F(WellKnownTypesTest, AnAnyOfAnotherTypeIsRefused) {
  Any any;
  ASSERT_TRUE(any.PackFrom(TimeUtil::SecondsToTimestamp(1)));
  absl::StatusOr<Struct> labels = stub_.Labels(any);
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(labels.status().message(),
            "expected a Lease, got type.googleapis.com/google.protobuf.Timestamp");
}

TEST_F(WellKnownTypesTest, AWrapperResponseCarriesItsValue) {
  absl::StatusOr<StringValue> holder = stub_.Holder(Empty());
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(holder->value(), "first holder");
}

TEST_F(WellKnownTypesTest, TheTypesAreLibprotobufsOwn) {
  // One descriptor per type: the generated code uses libprotobuf's classes and registered
  // none of its own for google/protobuf/*.proto.
  EXPECT_EQ(Lease::descriptor()->FindFieldByName("expires")->message_type(),
            Timestamp::descriptor());
  EXPECT_EQ(Lease::descriptor()->FindFieldByName("detail")->message_type(), Any::descriptor());
  EXPECT_EQ(RenewRequest::descriptor()->FindFieldByName("update_mask")->message_type(),
            google::protobuf::FieldMask::descriptor());
}

TEST(WellKnownTypesOverALinkTest, RequestsAndResponsesCrossALink) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  TestClock clock;
  rpc::Server server;
  server.ServeLink(&clock, std::move(pair->second), {getpid(), getuid(), getgid()});
  ClockStub stub(std::make_shared<rpc::LinkChannel>(std::move(pair->first)));

  ASSERT_TRUE(stub.Advance(TimeUtil::SecondsToDuration(5)).ok());
  absl::StatusOr<Timestamp> now = stub.Now(Empty());
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(TimeUtil::TimestampToSeconds(*now), kStartSeconds + 5);

  Lease lease;
  (*lease.mutable_labels()->mutable_fields())["zone"].set_string_value("ap");
  Any any;
  ASSERT_TRUE(any.PackFrom(lease));
  absl::StatusOr<Struct> labels = stub.Labels(any);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->fields().at("zone").string_value(), "ap");
  server.Shutdown();
}

}  // namespace
}  // namespace syslink::golden::wkt
