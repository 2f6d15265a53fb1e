// Metadata over gRPC, syslink on both sides. One suite runs against each transport
// (served_interop.h): a generated stub over a GrpcChannel calling the interop service served
// by ServeGrpc in this process, or by a process of its own behind syslink-gateway, where the
// metadata also crosses the gateway's link. The service answers the caller's metadata
// (interop_service.h). Calls and streams, both ways, statuses OK or not, and a method's
// trailing metadata that breaks a rule. Then GrpcServer under a handler of the test's:
// metadata that breaks a rule on the calling side is never sent. (interop_test.cc puts
// grpc_cpp_plugin's code on the other side; gateway/gateway_metadata_test.cc a stock client
// in front of the gateway.)

#include "rpc/metadata.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/served_interop.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::InteropEndpoint;
using ::syslink::grpc_testing::StartInterop;
using ::syslink::grpc_testing::TextOf;
using ::syslink::grpc_testing::Transport;
using ::syslink::grpc_testing::TransportName;
using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::syslink::testing::Soon;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;

// The keys of `metadata` that gRPC or the bridge own.
std::vector<std::string> TransportKeys(const Metadata& metadata) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : metadata) {
    if (absl::StartsWith(key, "grpc-") || absl::StartsWith(key, "syslink-")) keys.push_back(key);
  }
  return keys;
}

class MetadataTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<InteropEndpoint>> endpoint = StartInterop(GetParam());
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    endpoint_ = *std::move(endpoint);
    stub_ = std::make_unique<InteropStub>(endpoint_->channel());
  }

  // The metadata bytes (rpc/metadata.h's count) a caller may send. Behind the gateway the
  // service's link carries gRPC's user-agent entry too, within the same limit; 128 bytes
  // leave it room.
  size_t CallersRoom() const {
    return GetParam() == Transport::kGateway ? kMaxMetadataBytes - 128 : kMaxMetadataBytes;
  }

  std::unique_ptr<InteropEndpoint> endpoint_;
  std::unique_ptr<InteropStub> stub_;
};

TEST_P(MetadataTest, ACallsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-request-id", "7f3a");
  context.AddMetadata("echo-multi", "first");
  context.AddMetadata("echo-multi", "second");
  context.AddMetadata("echo-blob-bin", std::string("\0\xff\n bytes", 9));
  Text response;
  ASSERT_TRUE(stub_->Echo(TextOf("hi"), &response, &context).ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(),
              ElementsAre(Pair("echo-blob-bin", std::string("\0\xff\n bytes", 9)),
                          Pair("echo-multi", "first"), Pair("echo-multi", "second"),
                          Pair("echo-request-id", "7f3a")));
}

TEST_P(MetadataTest, TheMethodSeesOnlyEntriesThatFollowTheRules) {
  // A deadline and an attachment put grpc-timeout and syslink-attachment-size on the wire.
  ClientContext context;
  context.set_timeout(absl::Seconds(30));
  context.set_request_attachment(Attachment::FromBytes(std::as_bytes(std::span("bulk", 4))));
  context.AddMetadata("list-metadata", "");
  context.AddMetadata("x-tenant", "blue");
  Text response;
  ASSERT_TRUE(stub_->Reverse(TextOf(""), &response, &context).ok());
  EXPECT_EQ(context.response_attachment().size(), 4u);
  auto keys = context.GetServerTrailingMetadata().find("metadata-keys");
  ASSERT_NE(keys, context.GetServerTrailingMetadata().end());
  // gRPC's own user-agent follows the rules and stays.
  EXPECT_EQ(keys->second, "list-metadata,user-agent,x-tenant");
  // The response's syslink-attachment-size was the bridge's, not the method's.
  EXPECT_THAT(TransportKeys(context.GetServerTrailingMetadata()), IsEmpty());
}

TEST_P(MetadataTest, TrailingMetadataComesWithAFailure) {
  ClientContext context;
  context.AddMetadata("echo-why", "missing");
  Text response;
  absl::Status status = stub_->Fail(TextOf("no such key", 5), &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such key");
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-why", "missing")));
}

TEST_P(MetadataTest, AnAsyncCallsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-async", "yes");
  Text response;
  absl::Status status = absl::UnknownError("not completed");
  stub_->EchoAsync(TextOf("a"), &response, &context, [&](absl::Status s) { status = s; });
  EXPECT_EQ(endpoint_->channel()->Drain(Soon()), 0u);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-async", "yes")));
}

TEST_P(MetadataTest, MetadataUpToTheLimitRoundTrips) {
  // One large value: everything the caller has room for.
  const std::string key = "echo-large";
  const std::string value(CallersRoom() - kMetadataEntryOverhead - key.size(), 'v');
  ClientContext large;
  large.AddMetadata(key, value);
  ASSERT_TRUE(CheckMetadata(large.metadata(), "").ok());
  Text response;
  absl::Status status = stub_->Echo(TextOf(""), &response, &large);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(large.GetServerTrailingMetadata(), ElementsAre(Pair(key, value)));

  // Many small entries, which cost gRPC more than they cost syslink's count.
  ClientContext many;
  for (int i = 0; MetadataBytes(many.metadata()) + 9 + 8 <= CallersRoom(); ++i) {
    many.AddMetadata(absl::StrFormat("echo-%04d", i), "");
  }
  status = stub_->Echo(TextOf(""), &response, &many);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(many.GetServerTrailingMetadata(), many.metadata());
}

TEST_P(MetadataTest, AMethodsInvalidTrailingMetadataIsInvalidArgument) {
  for (const char* trailer : {"Bad Key=1", "grpc-status=0", "syslink-x=1", "=empty"}) {
    ClientContext context;
    context.AddMetadata("add-trailer", trailer);
    context.AddMetadata("echo-kept", "no");
    Text response;
    absl::Status status = stub_->Echo(TextOf("answer"), &response, &context);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << trailer << ": " << status;
    EXPECT_THAT(std::string(status.message()), StartsWith("the method's trailing metadata: "))
        << trailer;
    EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty()) << trailer;  // none of it
  }
  // The same service answers the next call.
  EXPECT_TRUE(stub_->Echo(TextOf("after")).ok());
}

// ---- Streams: the metadata goes with the call, the trailers come with its end ----

TEST_P(MetadataTest, AServerStreamsTrailersComeOnceFinishReturns) {
  ClientContext context;
  context.AddMetadata("echo-stream", "count");
  auto reader = stub_->Count(TextOf("n", 3), &context);
  Text message;
  int read = 0;
  while (reader->Read(&message)) ++read;
  EXPECT_EQ(read, 3);
  EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty());  // not before Finish()
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-stream", "count")));
}

TEST_P(MetadataTest, AClientStreamsTrailersComeWithItsFailure) {
  ClientContext context;
  context.AddMetadata("echo-stream", "join");
  Text response;
  auto writer = stub_->Join(&response, &context);
  ASSERT_TRUE(writer->Write(TextOf("fine")));
  (void)writer->Write(TextOf("denied", 7));
  writer->WritesDone();
  absl::Status status = writer->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-stream", "join")));
}

TEST_P(MetadataTest, ABidiStreamsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-stream", "chat");
  context.AddMetadata("list-metadata", "");
  auto stream = stub_->Chat(&context);
  ASSERT_TRUE(stream->Write(TextOf("x")));
  Text message;
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&message));
  ASSERT_TRUE(stream->Finish().ok());
  // The stream's own syslink-* entries (message_frame.h) reach neither side.
  EXPECT_THAT(context.GetServerTrailingMetadata(),
              ElementsAre(Pair("echo-stream", "chat"),
                          Pair("metadata-keys", "echo-stream,list-metadata,user-agent")));
}

TEST_P(MetadataTest, AStreamingMethodsInvalidTrailingMetadataIsInvalidArgument) {
  ClientContext context;
  context.AddMetadata("add-trailer", "Bad=1");
  auto reader = stub_->Count(TextOf("n", 2), &context);
  Text message;
  while (reader->Read(&message)) {
  }
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()),
              StartsWith("the method's trailing metadata: metadata key \"Bad\""));
  EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Transports, MetadataTest,
                         ::testing::Values(Transport::kServeGrpc, Transport::kGateway),
                         TransportName);

// ---- What breaks a rule on the calling side is never sent ----

// Counts the calls that reach the server; answers each with `trailing` as its trailing
// metadata.
class CountingHandler final : public GrpcCallHandler {
 public:
  absl::Status Handle(GrpcServerCall& call, GrpcReply* reply) override {
    ++calls;
    reply->Set(grpc_internal::FrameMessage::Of(TextOf("counted")));
    reply->trailing_metadata = trailing;
    return absl::OkStatus();
  }
  MethodKind KindOf(absl::string_view, std::optional<MethodKind> announced) override {
    return announced.value_or(MethodKind::kUnary);
  }
  absl::Status HandleStream(GrpcServerCall& call, GrpcServerStream& stream,
                            GrpcReply* reply) override {
    ++calls;
    std::string bytes;
    while (stream.ReadBytes(&bytes, nullptr)) {
    }
    reply->trailing_metadata = trailing;
    return absl::OkStatus();
  }

  std::atomic<int> calls{0};
  Metadata trailing;  // set before serving
};

class UnsentMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(&handler_, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server_->port())));
    stub_ = std::make_unique<InteropStub>(channel_);
  }

  CountingHandler handler_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<GrpcChannel> channel_;
  std::unique_ptr<InteropStub> stub_;
};

// Metadata each of which breaks one rule (rpc/metadata.h).
std::vector<Metadata> BadMetadata() {
  Metadata too_large;
  for (int i = 0; MetadataBytes(too_large) <= kMaxMetadataBytes; ++i) {
    too_large.emplace(absl::StrCat("x-", i), std::string(100, 'v'));
  }
  return {
      {{"Upper", "v"}},
      {{"has space", "v"}},
      {{"", "v"}},
      {{std::string(256, 'k'), "v"}},
      {{"grpc-timeout", "1S"}},
      {{"syslink-method-kind", "unary"}},
      {{"x-newline", "a\nb"}},
      too_large,
  };
}

TEST_F(UnsentMetadataTest, ACallWithBadMetadataFailsUnsent) {
  for (const Metadata& bad : BadMetadata()) {
    const std::string what = bad.begin()->first.substr(0, 20);
    ClientContext context;
    for (const auto& [key, value] : bad) context.AddMetadata(key, value);
    Text response;
    absl::Status status = stub_->Echo(TextOf(""), &response, &context);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << what << ": " << status;
    EXPECT_THAT(std::string(status.message()), StartsWith("the call's metadata")) << what;
  }
  EXPECT_EQ(handler_.calls.load(), 0);
  // A call with good metadata reaches the server (the count counts).
  ClientContext context;
  context.AddMetadata("x-good", "v");
  EXPECT_TRUE(stub_->Echo(TextOf(""), &context).ok());
  EXPECT_EQ(handler_.calls.load(), 1);
}

TEST_F(UnsentMetadataTest, AnAsyncCallWithBadMetadataFailsUnsentInDrain) {
  ClientContext context;
  context.AddMetadata("Upper", "v");
  Text response;
  absl::Status status = absl::UnknownError("not completed");
  bool done_in_call = false;
  bool in_call = true;
  stub_->EchoAsync(TextOf(""), &response, &context, [&](absl::Status s) {
    status = s;
    done_in_call = in_call;
  });
  in_call = false;
  EXPECT_EQ(channel_->Drain(Soon()), 0u);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(done_in_call);  // completed by Drain(), as any async call
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(UnsentMetadataTest, AStreamWithBadMetadataFailsUnsent) {
  ClientContext context;
  context.AddMetadata("grpc-encoding", "gzip");
  auto reader = stub_->Count(TextOf("n", 3), &context);
  Text message;
  EXPECT_FALSE(reader->Read(&message));
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"grpc-encoding\" is reserved"));
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(UnsentMetadataTest, AHandlersBadTrailingMetadataIsInvalidArgument) {
  handler_.trailing = {{"x-fine", "1"}, {"Bad", "2"}};
  ClientContext context;
  Text response;
  absl::Status status = stub_->Echo(TextOf(""), &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()),
              StartsWith("the reply's trailing metadata: metadata key \"Bad\""));
  EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty());

  ClientContext stream_context;
  Text joined;
  auto writer = stub_->Join(&joined, &stream_context);
  writer->WritesDone();
  status = writer->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(stream_context.GetServerTrailingMetadata(), IsEmpty());
}

TEST_F(UnsentMetadataTest, AHandlersTrailingMetadataComesWithItsStatus) {
  handler_.trailing = {{"x-served-by", "counter"}};
  ClientContext context;
  Text response;
  ASSERT_TRUE(stub_->Echo(TextOf(""), &response, &context).ok());
  EXPECT_EQ(response.text(), "counted");
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("x-served-by", "counter")));
}

}  // namespace
}  // namespace syslink::rpc
