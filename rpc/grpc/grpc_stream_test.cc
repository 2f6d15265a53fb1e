// Streams over gRPC, syslink on both sides: a generated stub's streams over a GrpcChannel
// to a service ServeGrpc serves, in one process. Every kind, attachments in stream
// messages, statuses, deadline, TryCancel and a stream given up. (interop_test.cc puts
// grpc_cpp_plugin's code on the other side; gateway_test.cc a link behind a gateway.)

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/serve_grpc.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/interop_service.h"
#include "rpc/grpc/testing/served_interop.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::ServedInteropTest;
using ::syslink::grpc_testing::TextOf;
using ::syslink::interop::Interop;
using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;

Attachment Bytes(absl::string_view text) {
  return Attachment::FromBytes(std::as_bytes(std::span(text.data(), text.size())));
}

std::string AsString(const Attachment& attachment) {
  std::span<const std::byte> bytes = attachment.data();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

class GrpcStreamTest : public ServedInteropTest {};

TEST_F(GrpcStreamTest, ServerStreamingDeliversEveryMessageInOrder) {
  auto reader = stub_->Count(TextOf("n", 1000));
  Text message;
  int expected = 0;
  while (reader->Read(&message)) {
    ASSERT_EQ(message.text(), absl::StrCat("n ", expected));
    ++expected;
  }
  EXPECT_EQ(expected, 1000);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(GrpcStreamTest, ClientStreamingGetsOneResponse) {
  Text response;
  auto writer = stub_->Join(&response);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer->Write(TextOf(absl::StrCat(i))));
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  std::string expected;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&expected, i == 0 ? "" : ",", i);
  EXPECT_EQ(response.text(), expected);
}

TEST_F(GrpcStreamTest, ClientStreamingWithNoMessagesGetsItsResponse) {
  Text response = TextOf("not touched");
  auto writer = stub_->Join(&response);
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(response.text(), "");
}

TEST_F(GrpcStreamTest, BidiReadsAndWritesFromTwoThreads) {
  auto stream = stub_->Chat();
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) {
      if (!stream->Write(TextOf(absl::StrCat(i)))) return;
    }
    stream->WritesDone();
  });
  Text message;
  int expected = 0;
  while (stream->Read(&message)) {
    ASSERT_EQ(message.text(), absl::StrCat(expected));
    ++expected;
  }
  writer.join();
  EXPECT_EQ(expected, 500);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcStreamTest, AttachmentsRideInStreamMessagesBothWays) {
  auto stream = stub_->Chat();
  ASSERT_TRUE(stream->Write(TextOf("a"), Bytes("abc")));
  ASSERT_TRUE(stream->Write(TextOf("none")));
  ASSERT_TRUE(stream->Write(TextOf("b"), Bytes(std::string(100000, 'x') + "y")));
  stream->WritesDone();
  Text message;
  Attachment attachment;
  ASSERT_TRUE(stream->Read(&message, &attachment));
  EXPECT_EQ(message.text(), "a");
  EXPECT_EQ(AsString(attachment), "cba");
  ASSERT_TRUE(stream->Read(&message, &attachment));
  EXPECT_EQ(message.text(), "none");
  EXPECT_TRUE(attachment.empty());
  ASSERT_TRUE(stream->Read(&message, &attachment));
  EXPECT_EQ(message.text(), "b");
  EXPECT_EQ(AsString(attachment), "y" + std::string(100000, 'x'));
  EXPECT_FALSE(stream->Read(&message, &attachment));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcStreamTest, TheRequestsAttachmentReachesAServerStreamingMethod) {
  ClientContext context;
  context.set_request_attachment(Bytes("bulk"));
  auto reader = stub_->Count(TextOf("n", 3), &context);
  Text message;
  Attachment attachment;
  int messages = 0;
  while (reader->Read(&message, &attachment)) {
    EXPECT_EQ(AsString(attachment), "bulk");
    ++messages;
  }
  EXPECT_EQ(messages, 3);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(GrpcStreamTest, AClientStreamingResponsesAttachmentReachesTheContext) {
  ClientContext context;
  Text response;
  auto writer = stub_->Join(&response, &context);
  ASSERT_TRUE(writer->Write(TextOf("1"), Bytes("one ")));
  ASSERT_TRUE(writer->Write(TextOf("2"), Bytes("two")));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(response.text(), "1,2");
  EXPECT_EQ(AsString(context.response_attachment()), "one two");
}

TEST_F(GrpcStreamTest, TheMethodsStatusArrivesOneToOne) {
  for (int code : {3, 5, 7, 9, 14}) {
    Text response;
    auto writer = stub_->Join(&response);
    ASSERT_TRUE(writer->Write(TextOf("fine")));
    (void)writer->Write(TextOf(absl::StrCat("why ", code), code));
    writer->WritesDone();
    absl::Status status = writer->Finish();
    EXPECT_EQ(static_cast<int>(status.code()), code);
    EXPECT_EQ(status.message(), absl::StrCat("why ", code));
  }
}

TEST_F(GrpcStreamTest, AWriteAfterTheMethodReturnedFails) {
  Text response;
  auto writer = stub_->Join(&response);
  ASSERT_TRUE(writer->Write(TextOf("stop", 10)));
  // The method returns at the message; a later Write() notices once the status is in.
  EXPECT_TRUE(Eventually([&] { return !writer->Write(TextOf("more")); }));
  EXPECT_EQ(writer->Finish().code(), absl::StatusCode::kAborted);
}

TEST_F(GrpcStreamTest, DeadlineEndsTheStreamOnBothSides) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(300));
  auto reader = stub_->Count(TextOf("forever", -1), &context);
  Text message;
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Eventually([&] { return service().streams_saw_cancelled.load() == 1; }));
}

TEST_F(GrpcStreamTest, ADeadlineLongPastEndsTheStreamAtOnce) {
  ClientContext context;
  context.set_deadline(absl::InfinitePast());
  auto reader = stub_->Count(TextOf("forever", -1), &context);
  Text message;
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kDeadlineExceeded);
}

// Streams beyond GrpcServerOptions::max_streams end at once with RESOURCE_EXHAUSTED, so
// that callers holding streams open cannot make the server run out of threads; a place
// freed serves the next.
TEST(GrpcStreamLimitTest, StreamsBeyondTheLimitAreRefusedUntilOneEnds) {
  interop::InteropService service;
  absl::StatusOr<std::unique_ptr<rpc::GrpcServer>> server =
      rpc::ServeGrpc(&service, {.max_streams = 2});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = std::make_shared<rpc::GrpcChannel>(
      rpc::CreateGrpcChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  InteropStub stub(channel);
  // Two streams that run until cancelled, each read once so that both surely run.
  std::vector<std::unique_ptr<rpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<rpc::ClientReader<Text>>> held;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<rpc::ClientContext>());
    held.push_back(stub.Count(TextOf("held", -1), contexts.back().get()));
    Text first;
    ASSERT_TRUE(held.back()->Read(&first));
  }
  auto refused = stub.Count(TextOf("third", 3));
  Text message;
  EXPECT_FALSE(refused->Read(&message));
  absl::Status status = refused->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  // Unary calls are not streams: they still go through.
  EXPECT_TRUE(stub.Echo(TextOf("unary")).ok());
  // One held stream ends; its place serves the next stream.
  contexts[0]->TryCancel();
  while (held[0]->Read(&message)) {
  }
  (void)held[0]->Finish();
  bool served = Eventually([&] {
    auto next = stub.Count(TextOf("next", 3));
    int count = 0;
    while (next->Read(&message)) ++count;
    return next->Finish().ok() && count == 3;
  });
  EXPECT_TRUE(served);
  contexts[1]->TryCancel();
  while (held[1]->Read(&message)) {
  }
  (void)held[1]->Finish();
}

TEST_F(GrpcStreamTest, TryCancelEndsTheStreamOnBothSides) {
  ClientContext context;
  auto reader = stub_->Count(TextOf("forever", -1), &context);
  Text message;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(reader->Read(&message));
  context.TryCancel();
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(Eventually([&] { return service().streams_saw_cancelled.load() == 1; }));
}

// A message the stream cannot parse ends it: the server is told (it would otherwise go on
// streaming, or wait, for good) and Finish() says which message did not parse.
TEST_F(GrpcStreamTest, AMessageThatDoesNotParseEndsTheStreamOnBothSides) {
  // Count's messages are Texts ("x 0", ...): as a Struct, field 1 holds a truncated entry.
  google::protobuf::Struct wrong;
  ASSERT_FALSE(wrong.ParseFromString(TextOf("x 0").SerializeAsString()));
  ClientContext context;
  context.set_deadline(Soon());  // without the cancel, the call would end only here
  Text request = TextOf("x", -1);
  auto stream = channel()->OpenStream(Interop::kCountMethod, &request, nullptr, &context);
  EXPECT_FALSE(stream->Read(&wrong, nullptr));
  absl::Status status = stream->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("does not parse"));
  EXPECT_TRUE(Eventually([&] { return service().streams_saw_cancelled.load() == 1; }));
}

// A client-streaming rpc has one response. A server that streams more (here Count, called
// as if it took a stream) breaks the protocol: the call ends with INTERNAL, however many
// it sends before Finish(), and the server is told.
TEST_F(GrpcStreamTest, AServerThatSendsAClientStreamingCallMoreThanOneResponseIsRefused) {
  const Method as_client_streaming{Interop::kCountMethod.id, Interop::kCountMethod.path,
                                   MethodKind::kClientStreaming};
  ClientContext context;
  context.set_deadline(Soon());
  Text response;
  auto stream = channel()->OpenStream(as_client_streaming, nullptr, &response, &context);
  Attachment none;
  ASSERT_TRUE(stream->Write(TextOf("n", -1), &none, /*wait=*/true).ok());
  ASSERT_TRUE(stream->WritesDone().ok());
  absl::Status status = stream->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("more than one response"));
  EXPECT_TRUE(Eventually([&] { return service().streams_saw_cancelled.load() == 1; }));
}

TEST_F(GrpcStreamTest, FinishWithoutReadingDropsTheMessages) {
  auto reader = stub_->Count(TextOf("n", 5000));
  Text message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(GrpcStreamTest, AStreamDestroyedBeforeFinishIsCancelled) {
  {
    auto reader = stub_->Count(TextOf("forever", -1));
    Text message;
    ASSERT_TRUE(reader->Read(&message));
  }
  EXPECT_TRUE(Eventually([&] { return service().streams_ended.load() == 1; }));
  EXPECT_EQ(service().streaming.load(), 0);
}

TEST_F(GrpcStreamTest, TryWriteSaysWhenTheWindowIsFull) {
  // Nobody reads: Chat answers, its answers pile up, and at last the writes stop going.
  auto stream = stub_->Chat();
  absl::Status status;
  for (int i = 0; i < 100000 && status.ok(); ++i) {
    status = stream->TryWrite(TextOf(std::string(1000, 'x')));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
}

TEST_F(GrpcStreamTest, AUnaryRpcIsNoStream) {
  auto reader = std::make_unique<ClientReader<Text>>(
      channel()->OpenStream(Interop::kEchoMethod, nullptr, nullptr, nullptr));
  Text message;
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(GrpcStreamTest, UnaryCallsGoOnBesideStreams) {
  auto stream = stub_->Chat();
  ASSERT_TRUE(stream->Write(TextOf("open")));
  absl::StatusOr<Text> echoed = stub_->Echo(TextOf("beside"));
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(echoed->text(), "beside");
  stream->WritesDone();
  Text message;
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcStreamTest, AServerThatStopsGivesUnavailable) {
  auto reader = stub_->Count(TextOf("forever", -1));
  Text message;
  ASSERT_TRUE(reader->Read(&message));
  std::thread stopper([&] { server().Shutdown(absl::ZeroDuration()); });
  while (reader->Read(&message)) {
  }
  stopper.join();
  const absl::Status status = reader->Finish();
  EXPECT_TRUE(absl::IsUnavailable(status) || absl::IsCancelled(status)) << status;
}

}  // namespace
}  // namespace syslink::rpc
