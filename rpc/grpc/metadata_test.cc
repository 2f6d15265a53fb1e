// Metadata over gRPC, syslink on both sides: a generated stub over a GrpcChannel calling a
// service ServeGrpc serves (InteropService answers the caller's metadata: interop_service.h),
// and GrpcServer under a handler of the test's. Calls and streams, both ways, statuses OK
// or not, and metadata that breaks a rule on either side. (interop_test.cc puts
// grpc_cpp_plugin's code on the other side; gateway/gateway_metadata_test.cc a link behind
// a gateway.)

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/interop_service.h"
#include "rpc/metadata.h"

namespace syslink::rpc {
namespace {

using ::syslink::interop::InteropService;
using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;

Text Message(const std::string& text, int code = 0) {
  Text message;
  message.set_text(text);
  message.set_code(code);
  return message;
}

// The keys of `metadata` that gRPC or the bridge own.
std::vector<std::string> TransportKeys(const Metadata& metadata) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : metadata) {
    if (absl::StartsWith(key, "grpc-") || absl::StartsWith(key, "syslink-")) keys.push_back(key);
  }
  return keys;
}

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = ServeGrpc(&service_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server_->port())));
    stub_ = std::make_unique<InteropStub>(channel_);
  }

  InteropService service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<GrpcChannel> channel_;
  std::unique_ptr<InteropStub> stub_;
};

TEST_F(MetadataTest, ACallsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-request-id", "7f3a");
  context.AddMetadata("echo-multi", "first");
  context.AddMetadata("echo-multi", "second");
  context.AddMetadata("echo-blob-bin", std::string("\0\xff\n bytes", 9));
  Text response;
  ASSERT_TRUE(stub_->Echo(Message("hi"), &response, &context).ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(),
              ElementsAre(Pair("echo-blob-bin", std::string("\0\xff\n bytes", 9)),
                          Pair("echo-multi", "first"), Pair("echo-multi", "second"),
                          Pair("echo-request-id", "7f3a")));
}

TEST_F(MetadataTest, TheMethodSeesOnlyEntriesThatFollowTheRules) {
  // A deadline and an attachment put grpc-timeout and syslink-attachment-size on the wire.
  ClientContext context;
  context.set_timeout(absl::Seconds(30));
  context.set_request_attachment(Attachment::FromBytes(std::as_bytes(std::span("bulk", 4))));
  context.AddMetadata("list-metadata", "");
  context.AddMetadata("x-tenant", "blue");
  Text response;
  ASSERT_TRUE(stub_->Reverse(Message(""), &response, &context).ok());
  EXPECT_EQ(context.response_attachment().size(), 4u);
  auto keys = context.GetServerTrailingMetadata().find("metadata-keys");
  ASSERT_NE(keys, context.GetServerTrailingMetadata().end());
  // gRPC's own user-agent follows the rules and stays.
  EXPECT_EQ(keys->second, "list-metadata,user-agent,x-tenant");
  // The response's syslink-attachment-size was the bridge's, not the method's.
  EXPECT_THAT(TransportKeys(context.GetServerTrailingMetadata()), IsEmpty());
}

TEST_F(MetadataTest, TrailingMetadataComesWithAFailure) {
  ClientContext context;
  context.AddMetadata("echo-why", "missing");
  Text response;
  absl::Status status = stub_->Fail(Message("no such key", 5), &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such key");
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-why", "missing")));
}

TEST_F(MetadataTest, AnAsyncCallsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-async", "yes");
  Text response;
  absl::Status status = absl::UnknownError("not completed");
  stub_->EchoAsync(Message("a"), &response, &context, [&](absl::Status s) { status = s; });
  EXPECT_EQ(channel_->Drain(absl::Now() + absl::Seconds(10)), 0u);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-async", "yes")));
}

TEST_F(MetadataTest, MetadataUpToTheLimitRoundTrips) {
  // One large value: everything kMaxMetadataBytes allows.
  const std::string key = "echo-large";
  const std::string value(kMaxMetadataBytes - kMetadataEntryOverhead - key.size(), 'v');
  ClientContext large;
  large.AddMetadata(key, value);
  ASSERT_TRUE(CheckMetadata(large.metadata(), "").ok());
  Text response;
  absl::Status status = stub_->Echo(Message(""), &response, &large);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(large.GetServerTrailingMetadata(), ElementsAre(Pair(key, value)));

  // Many small entries, which cost gRPC more than they cost syslink's count.
  ClientContext many;
  for (int i = 0; MetadataBytes(many.metadata()) + 9 + 8 <= kMaxMetadataBytes; ++i) {
    many.AddMetadata(absl::StrFormat("echo-%04d", i), "");
  }
  status = stub_->Echo(Message(""), &response, &many);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(many.GetServerTrailingMetadata(), many.metadata());
}

TEST_F(MetadataTest, AMethodsInvalidTrailingMetadataIsInvalidArgument) {
  for (const char* trailer : {"Bad Key=1", "grpc-status=0", "syslink-x=1", "=empty"}) {
    ClientContext context;
    context.AddMetadata("add-trailer", trailer);
    context.AddMetadata("echo-kept", "no");
    Text response;
    absl::Status status = stub_->Echo(Message("answer"), &response, &context);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << trailer << ": " << status;
    EXPECT_THAT(std::string(status.message()), StartsWith("the method's trailing metadata: "))
        << trailer;
    EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty()) << trailer;  // none of it
  }
  // The same service answers the next call.
  EXPECT_TRUE(stub_->Echo(Message("after")).ok());
}

// ---- Streams: the metadata goes with the call, the trailers come with its end ----

TEST_F(MetadataTest, AServerStreamsTrailersComeOnceFinishReturns) {
  ClientContext context;
  context.AddMetadata("echo-stream", "count");
  auto reader = stub_->Count(Message("n", 3), &context);
  Text message;
  int read = 0;
  while (reader->Read(&message)) ++read;
  EXPECT_EQ(read, 3);
  EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty());  // not before Finish()
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-stream", "count")));
}

TEST_F(MetadataTest, AClientStreamsTrailersComeWithItsFailure) {
  ClientContext context;
  context.AddMetadata("echo-stream", "join");
  Text response;
  auto writer = stub_->Join(&response, &context);
  ASSERT_TRUE(writer->Write(Message("fine")));
  (void)writer->Write(Message("denied", 7));
  writer->WritesDone();
  absl::Status status = writer->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("echo-stream", "join")));
}

TEST_F(MetadataTest, ABidiStreamsMetadataGoesBothWays) {
  ClientContext context;
  context.AddMetadata("echo-stream", "chat");
  context.AddMetadata("list-metadata", "");
  auto stream = stub_->Chat(&context);
  ASSERT_TRUE(stream->Write(Message("x")));
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

TEST_F(MetadataTest, AStreamingMethodsInvalidTrailingMetadataIsInvalidArgument) {
  ClientContext context;
  context.AddMetadata("add-trailer", "Bad=1");
  auto reader = stub_->Count(Message("n", 2), &context);
  Text message;
  while (reader->Read(&message)) {
  }
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()),
              StartsWith("the method's trailing metadata: metadata key \"Bad\""));
  EXPECT_THAT(context.GetServerTrailingMetadata(), IsEmpty());
}

// ---- What breaks a rule on the calling side is never sent ----

// Counts the calls that reach the server; answers each with `trailing` as its trailing
// metadata.
class CountingHandler final : public GrpcCallHandler {
 public:
  absl::Status Handle(GrpcServerCall& call, GrpcReply* reply) override {
    ++calls;
    reply->Set(grpc_internal::FrameMessage::Of(Message("counted")));
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
    absl::Status status = stub_->Echo(Message(""), &response, &context);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << what << ": " << status;
    EXPECT_THAT(std::string(status.message()), StartsWith("the call's metadata")) << what;
  }
  EXPECT_EQ(handler_.calls.load(), 0);
  // A call with good metadata reaches the server (the count counts).
  ClientContext context;
  context.AddMetadata("x-good", "v");
  EXPECT_TRUE(stub_->Echo(Message(""), &context).ok());
  EXPECT_EQ(handler_.calls.load(), 1);
}

TEST_F(UnsentMetadataTest, AnAsyncCallWithBadMetadataFailsUnsentInDrain) {
  ClientContext context;
  context.AddMetadata("Upper", "v");
  Text response;
  absl::Status status = absl::UnknownError("not completed");
  bool done_in_call = false;
  bool in_call = true;
  stub_->EchoAsync(Message(""), &response, &context, [&](absl::Status s) {
    status = s;
    done_in_call = in_call;
  });
  in_call = false;
  EXPECT_EQ(channel_->Drain(absl::Now() + absl::Seconds(10)), 0u);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(done_in_call);  // completed by Drain(), as any async call
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(UnsentMetadataTest, AStreamWithBadMetadataFailsUnsent) {
  ClientContext context;
  context.AddMetadata("grpc-encoding", "gzip");
  auto reader = stub_->Count(Message("n", 3), &context);
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
  absl::Status status = stub_->Echo(Message(""), &response, &context);
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
  ASSERT_TRUE(stub_->Echo(Message(""), &response, &context).ok());
  EXPECT_EQ(response.text(), "counted");
  EXPECT_THAT(context.GetServerTrailingMetadata(), ElementsAre(Pair("x-served-by", "counter")));
}

}  // namespace
}  // namespace syslink::rpc
