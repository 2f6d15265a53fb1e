// Metadata through syslink-gateway from grpc_cpp_plugin's client: syslinkd, the interop
// service (which answers the caller's metadata: testing/interop_service.h) and the gateway,
// each a process of its own (testing/served_interop.h). The caller's metadata crosses gRPC,
// then the gateway's link to the service; the service's trailing metadata comes back the
// same way, and metadata within gRPC's limits but over syslink's is refused. (The metadata
// suite of a syslink stub runs through the gateway too, in ../metadata_test.cc. A stock
// client's streams are not relayed: it does not name their kind, docs/grpc.md.)

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/testing/served_interop.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::GatewayedInterop;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class GatewayMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<GatewayedInterop>> gatewayed = GatewayedInterop::Start();
    ASSERT_TRUE(gatewayed.ok()) << gatewayed.status();
    gatewayed_ = *std::move(gatewayed);
  }

  // One call of the stock client to the gateway, showing the metadata it got back.
  std::string StockCall(const std::string& method, std::vector<std::string> flags) {
    return grpc_testing::StockCall(gatewayed_->address(), method, std::move(flags),
                                   /*show_metadata=*/true);
  }

  std::unique_ptr<GatewayedInterop> gatewayed_;
};

TEST_F(GatewayMetadataTest, AStockClientsMetadataGoesThroughIt) {
  EXPECT_EQ(StockCall("Echo", {"--text=hi", "--metadata=echo-a=1,echo-a=2,grpc-custom=x"}),
            "code=0 text=hi message=\ninitial= trailing=echo-a=1;echo-a=2");
  EXPECT_EQ(StockCall("Fail", {"--text=gone", "--code=9", "--metadata=echo-why=x"}),
            "code=9 text= message=gone\ninitial= trailing=echo-why=x");
}

TEST_F(GatewayMetadataTest, MetadataOverSyslinksLimitIsInvalidArgument) {
  // Within gRPC's limits, over syslink's (kMaxMetadataBytes): the link call refuses it.
  std::string entries;
  for (int i = 0; i < 100; ++i) {
    absl::StrAppend(&entries, i == 0 ? "" : ",", "x-", i, "=", std::string(100, 'v'));
  }
  const std::string lines = StockCall("Echo", {"--metadata=" + entries});
  EXPECT_THAT(lines, StartsWith("code=3 "));
  EXPECT_THAT(lines, HasSubstr("the call's metadata takes "));
}

}  // namespace
}  // namespace syslink::rpc
