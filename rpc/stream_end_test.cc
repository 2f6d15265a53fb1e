// How a stream between two processes ends: its server killed with SIGKILL, its deadline,
// TryCancel from another thread, an early Finish by the method, a stream given up before
// Finish(), and a message the client cannot parse, each seen on both sides.

#include <signal.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/method.h"
#include "rpc/service.h"
#include "rpc/stream.h"
#include "rpc/stream_testing.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/status.h"
#include "tests/support/eventually.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Total;
using ::syslink::testing::Eventually;

TEST_F(StreamTest, AServerKilledMidStreamEndsItWithPeerDied) {
  auto stream = stub_.Echo();
  Number number;
  number.set_n(7);
  ASSERT_TRUE(stream->Write(number));
  ASSERT_TRUE(stream->Read(&number));
  ASSERT_EQ(kill(server_.process().pid(), SIGKILL), 0);
  EXPECT_FALSE(stream->Read(&number));
  EXPECT_FALSE(stream->Write(number));
  absl::Status status = stream->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(IsPeerDied(status)) << status;  // the payload survives the method's name
}

TEST_F(StreamTest, TheDeadlineEndsBothSides) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(200));
  auto reader = stub_.Forever(Number(), &context);
  Number number;
  while (reader->Read(&number)) {
    absl::SleepFor(absl::Milliseconds(1));  // a slow reader: the server waits for it
  }
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("/syslink.rpc.test.Streamer/Forever: "));
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  EXPECT_EQ(GetProgress().cancelled(), 1);
}

TEST_F(StreamTest, RepliesAfterTheStreamIsGoneTouchNothingOfTheCallers) {
  // The caller's Method (its path too), context and stream go together; the replies to the
  // stream's open call, pulls and cancel come after them (ASan sees any use of the three).
  auto path = std::make_unique<std::string>("/syslink.rpc.test.Streamer/Forever");
  auto method =
      std::make_unique<Method>(Method{MethodIdOfPath(*path), *path, MethodKind::kServerStreaming});
  auto context = std::make_unique<ClientContext>();
  context->set_timeout(absl::Seconds(60));
  const Number request;
  std::unique_ptr<ClientStream> stream =
      server_.channel()->OpenStream(*method, &request, nullptr, context.get());
  Number number;
  ASSERT_TRUE(stream->Read(&number, nullptr));
  stream.reset();  // given up before Finish()
  context.reset();
  method.reset();
  path.reset();
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  EXPECT_EQ(GetProgress().cancelled(), 1);
  EXPECT_TRUE(server_.channel()->status().ok());
}

TEST_F(StreamTest, TryCancelFromAnotherThreadEndsABlockedRead) {
  ClientContext context;
  Total total;
  auto writer = stub_.Gate(&total, &context);  // never released: the server never answers
  std::thread cancel([&] { context.TryCancel(); });
  EXPECT_EQ(writer->Finish().code(), absl::StatusCode::kCancelled);
  cancel.join();
  ASSERT_TRUE(stub_.Release(Number()).ok());  // the method then sees the cancel and returns
  ASSERT_TRUE(Eventually([&] { return server_.channel()->status().ok(); }));
}

TEST_F(StreamTest, AnEarlyFinishEndsTheClientsWrites) {
  auto stream = stub_.Echo();
  Number number;
  number.set_n(-2);
  ASSERT_TRUE(stream->Write(number));
  number.set_n(1);
  int writes = 0;
  while (stream->Write(number)) ++writes;  // refused once the method has returned
  EXPECT_LT(writes, 10000);
  EXPECT_FALSE(stream->Read(&number));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kAborted);
}

// Writes Text messages whose text is not UTF-8 (protobuf serializes them, and refuses to
// parse them) until the client stops reading: more than the stream's window.
class InvalidTextWriter : public Service {
 public:
  static constexpr Method kWrite{MethodId("syslink.rpc.test.Invalid.Write"),
                                 "/syslink.rpc.test.Invalid/Write", MethodKind::kServerStreaming};
  absl::string_view service_name() const override { return "syslink.rpc.test.Invalid"; }
  absl::Status Dispatch(ServerCall& call) override {
    if (call.stream() == nullptr) return absl::FailedPreconditionError("not a stream");
    test::Text text;
    text.set_text("\xff\xfe");
    for (int i = 0; i < 1000; ++i) {
      if (!call.stream()->Write(text, Attachment())) {
        return absl::CancelledError("the client stopped reading");
      }
    }
    return absl::OkStatus();
  }
};

TEST(UnparsableStreamTest, FinishEndsAStreamWhoseMessageDidNotParse) {
  syslink::testing::ForkedServerOptions options;
  options.channel.stream_window = 4;  // the server waits to write the fifth message
  syslink::testing::ForkedServer server([] { return std::make_unique<InvalidTextWriter>(); },
                                        options);
  test::Text request;
  std::unique_ptr<ClientStream> stream =
      server.channel()->OpenStream(InvalidTextWriter::kWrite, &request, nullptr, nullptr);
  test::Text text;
  EXPECT_FALSE(stream->Read(&text, nullptr));
  // This side stopped reading: the server, still writing, must learn it, or Finish()
  // would wait for the end of a stream nobody pulls on.
  absl::Status status = stream->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("does not parse"));
}

}  // namespace
}  // namespace syslink::rpc
