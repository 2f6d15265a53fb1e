// Metadata through syslink-gateway, end to end: syslinkd, the interop service (which
// answers the caller's metadata: testing/interop_service.h) and the gateway, each a process
// of its own; callers are a syslink stub over a GrpcChannel and grpc_cpp_plugin's client.
// The caller's metadata crosses gRPC, then the gateway's link to the service; the service's
// trailing metadata comes back the same way. (A stock client's streams are not relayed:
// it does not name their kind, docs/grpc.md.)

#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/program.h"
#include "rpc/metadata.h"
#include "tests/support/broker_process.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::Program;
using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ScratchDirectory;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kGateway[] = "rpc/grpc/gateway/syslink-gateway";
constexpr char kService[] = "rpc/grpc/syslink_interop_server";
constexpr char kStockClient[] = "rpc/grpc/stock_interop_client";
constexpr absl::Duration kTimeout = absl::Seconds(20);

Text Request(const std::string& text, int code = 0) {
  Text request;
  request.set_text(text);
  request.set_code(code);
  return request;
}

class GatewayMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(directory_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    service_.emplace(Program::Start(kService, {"--broker-socket", directory_.SocketPath()}));
    ASSERT_TRUE(service_->WaitForLine("ready", kTimeout).ok());
    gateway_.emplace(Program::Start(kGateway, {"--broker-socket", directory_.SocketPath(),
                                               "--expose", "syslink.interop.Interop"}));
    absl::StatusOr<std::string> address = gateway_->WaitForLine("listening on ", kTimeout);
    ASSERT_TRUE(address.ok()) << address.status();
    address_ = *address;
    stub_ =
        std::make_unique<InteropStub>(std::make_shared<GrpcChannel>(CreateGrpcChannel(address_)));
  }

  void TearDown() override {
    if (gateway_.has_value()) gateway_->process().Kill(SIGTERM);
    gateway_.reset();
    if (service_.has_value()) service_->CloseInput();
    service_.reset();
  }

  // One call of the stock client to the gateway, showing the metadata it got back: its two
  // lines of output, joined by "\n".
  std::string StockCall(const std::string& method, std::vector<std::string> flags) {
    flags.push_back("--target=" + address_);
    flags.push_back("--method=" + method);
    flags.push_back("--show_metadata=1");
    Program client = Program::Start(kStockClient, flags);
    absl::StatusOr<std::string> line = client.ReadLine(kTimeout);
    if (!line.ok()) return line.status().ToString();
    absl::StatusOr<std::string> metadata = client.ReadLine(kTimeout);
    return absl::StrCat(*line, "\n", metadata.ok() ? *metadata : metadata.status().ToString());
  }

  ScratchDirectory directory_{"gwmd"};
  std::unique_ptr<BrokerProcess> broker_;
  std::optional<Program> service_;
  std::optional<Program> gateway_;
  std::string address_;
  std::unique_ptr<InteropStub> stub_;
};

TEST_F(GatewayMetadataTest, ACallsMetadataReachesTheLocalServiceAndItsTrailersComeBack) {
  ClientContext context;
  context.AddMetadata("echo-request-id", "7f3a");
  context.AddMetadata("echo-blob-bin", std::string("\0\xff", 2));
  context.AddMetadata("list-metadata", "");
  Text response;
  absl::Status status = stub_->Echo(Request("hi"), &response, &context);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(response.text(), "hi");
  // The service sees what the gRPC caller sent, less gRPC's own entries; the gateway's
  // link adds none.
  EXPECT_THAT(
      context.GetServerTrailingMetadata(),
      ElementsAre(Pair("echo-blob-bin", std::string("\0\xff", 2)),
                  Pair("echo-request-id", "7f3a"),
                  Pair("metadata-keys", "echo-blob-bin,echo-request-id,list-metadata,user-agent")));
}

TEST_F(GatewayMetadataTest, TheServicesTrailersComeWithItsFailure) {
  ClientContext context;
  context.AddMetadata("echo-why", "missing");
  Text response;
  absl::Status status = stub_->Fail(Request("no such key", 5), &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_EQ(status.message(), "no such key");
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-why", "missing")));
}

TEST_F(GatewayMetadataTest, TheServicesInvalidTrailerIsInvalidArgument) {
  ClientContext context;
  context.AddMetadata("add-trailer", "Bad Key=1");
  context.AddMetadata("echo-kept", "no");
  Text response;
  absl::Status status = stub_->Echo(Request("hi"), &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("trailing metadata"));
  EXPECT_THAT(status.message(), HasSubstr("\"Bad Key\""));
  EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty());
}

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
  EXPECT_THAT(lines, ::testing::StartsWith("code=3 "));
  EXPECT_THAT(lines, HasSubstr("the call's metadata takes "));
}

// ---- Streams: the metadata goes with the relayed stream, the trailers come at its end ----

TEST_F(GatewayMetadataTest, AServerStreamsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-s", "count");
  auto reader = stub_->Count(Request("n", 5), &context);
  Text message;
  int read = 0;
  while (reader->Read(&message)) ++read;
  EXPECT_EQ(read, 5);
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-s", "count")));
}

TEST_F(GatewayMetadataTest, AClientStreamsTrailersComeWithItsFailure) {
  ClientContext context;
  context.AddMetadata("echo-s", "join");
  Text response;
  auto writer = stub_->Join(&response, &context);
  ASSERT_TRUE(writer->Write(Request("fine")));
  (void)writer->Write(Request("denied", 7));
  writer->WritesDone();
  absl::Status status = writer->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-s", "join")));
}

TEST_F(GatewayMetadataTest, ABidiStreamsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-s", "chat");
  context.AddMetadata("list-metadata", "");
  auto stream = stub_->Chat(&context);
  ASSERT_TRUE(stream->Write(Request("x")));
  Text message;
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&message));
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(),
              ElementsAre(Pair("echo-s", "chat"),
                          Pair("metadata-keys", "echo-s,list-metadata,user-agent")));
}

}  // namespace
}  // namespace syslink::rpc
