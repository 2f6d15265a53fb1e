// Streams through an InProcessChannel, as stream_test.cc, stream_flow_control_test.cc and
// stream_end_test.cc check them over a link: each kind round-trips, the window holds each
// writer back, and half-close, an early return, the deadline, TryCancel(), an abandoned
// stream and messages that do not parse end a stream on both sides.

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rpc/in_process_channel.h"
#include "rpc/in_process_stream_testing.h"
#include "rpc/stream_testing.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Streamer;
using ::syslink::rpc::test::Total;
using ::syslink::testing::Eventually;

TEST_F(InProcessStreamTest, ServerStreamingDeliversEveryMessageInOrder) {
  auto reader = stub_.Countdown(Make(1000));
  Number number;
  int64_t expected = 0;
  while (reader->Read(&number)) ASSERT_EQ(number.n(), expected++);
  EXPECT_EQ(expected, 1000);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(InProcessStreamTest, ClientStreamingGetsOneResponse) {
  Total total;
  auto writer = stub_.Add(&total);
  for (int i = 1; i <= 1000; ++i) ASSERT_TRUE(writer->Write(Make(i)));
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.sum(), 1000 * 1001 / 2);
  EXPECT_EQ(total.messages(), 1000);
}

TEST_F(InProcessStreamTest, BidiReadsAndWritesFromTwoThreadsAndHalfCloses) {
  auto stream = stub_.Echo();
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) {
      if (!stream->Write(Make(i))) return;
    }
    stream->WritesDone();
  });
  Number number;
  std::vector<int64_t> seen;
  while (stream->Read(&number)) seen.push_back(number.n());
  writer.join();
  ASSERT_EQ(seen.size(), 501u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(seen[i], i);
  EXPECT_EQ(seen.back(), -1);  // written after the method's Read() saw the half-close
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(InProcessStreamTest, TheAsyncFormsCompleteOnce) {
  absl::Notification done;
  absl::Status result;
  int seen = 0;
  stub_.CountdownAsync(
      Make(100), nullptr,
      [&](Number&, Attachment&) {
        ++seen;
        return true;
      },
      [&](absl::Status status) {
        result = std::move(status);
        done.Notify();
      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(syslink::testing::kPatience));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(seen, 100);
}

TEST_F(InProcessStreamTest, AttachmentsMoveWithoutACopy) {
  ClientContext context;
  auto stream = probe_channel_->OpenStream(Probe::kBounce, nullptr, nullptr, &context);
  absl::StatusOr<Attachment> attachment = probe_channel_->AllocateAttachment(4096);
  ASSERT_TRUE(attachment.ok());
  test::Fill(*attachment, 7);
  const std::byte* sent = attachment->data().data();
  ASSERT_TRUE(stream->Write(Make(7), &*attachment, /*wait=*/true).ok());
  Number number;
  Attachment back;
  ASSERT_TRUE(stream->Read(&number, &back));
  EXPECT_EQ(back.data().data(), sent);
  EXPECT_TRUE(test::IsFilled(back, 7));
  ASSERT_TRUE(probe_.WaitReturned());
  EXPECT_EQ(probe_.bounced(), sent);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(InProcessStreamTest, MetadataGoesInAndTrailingMetadataComesBack) {
  ClientContext context;
  context.AddMetadata("x-in", "hello");
  Number request;
  auto stream = probe_channel_->OpenStream(Probe::kMetadata, &request, nullptr, &context);
  Number number;
  EXPECT_TRUE(stream->Read(&number, nullptr));
  EXPECT_FALSE(stream->Read(&number, nullptr));
  ASSERT_TRUE(stream->Finish().ok());
  const Metadata& trailing = context.GetServerTrailingMetadata();
  ASSERT_EQ(trailing.count("x-out"), 1u);
  EXPECT_EQ(trailing.find("x-out")->second, "hello");
}

TEST_F(InProcessStreamTest, AUnaryMethodDoesNotOpenAsAStream) {
  auto stream = channel_->OpenStream(Streamer::kReleaseMethod, nullptr, nullptr, nullptr);
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(InProcessStreamTest, TryWriteRefusesAFullWindowInsteadOfWaiting) {
  Total total;
  auto writer = stub_.Gate(&total);  // reads nothing until Release
  for (int i = 0; i < kWindow; ++i) ASSERT_TRUE(writer->TryWrite(Make(1)).ok()) << i;
  EXPECT_EQ(writer->TryWrite(Make(1)).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(stub_.Release(Number()).ok());
  EXPECT_TRUE(writer->Write(Make(1)));  // waits for room, which the reader now makes
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.messages(), kWindow + 1);
}

TEST_F(InProcessStreamTest, AWriterWaitsForRoomUntilTheReaderReads) {
  Total total;
  auto writer = stub_.Gate(&total);
  for (int i = 0; i < kWindow; ++i) ASSERT_TRUE(writer->TryWrite(Make(1)).ok()) << i;
  absl::Notification wrote;
  std::thread blocked([&] {
    EXPECT_TRUE(writer->Write(Make(1)));  // the window is full: waits
    wrote.Notify();
  });
  EXPECT_FALSE(wrote.HasBeenNotified());
  ASSERT_TRUE(stub_.Release(Number()).ok());
  ASSERT_TRUE(wrote.WaitForNotificationWithTimeout(syslink::testing::kPatience));
  blocked.join();
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.messages(), kWindow + 1);
}

TEST_F(InProcessStreamTest, ASlowReaderHoldsTheMethodToTheWindow) {
  ClientContext context;
  auto reader = stub_.Forever(Number(), &context);
  Number number;
  ASSERT_TRUE(reader->Read(&number));
  // The method fills the window (one more waits in its Write()), and no more.
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= kWindow + 1; }));
  EXPECT_LE(GetProgress().written(), kWindow + 1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(reader->Read(&number));
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= 21 + kWindow; }));
  EXPECT_LE(GetProgress().written(), 21 + kWindow);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  EXPECT_EQ(GetProgress().cancelled(), 1);
}

TEST_F(InProcessStreamTest, AnEarlyReturnEndsTheCallersWritesAfterItsMessages) {
  auto stream = stub_.Echo();
  ASSERT_TRUE(stream->Write(Make(5)));
  ASSERT_TRUE(stream->Write(Make(-2)));  // the method returns ABORTED
  int writes = 0;
  while (stream->Write(Make(1))) ++writes;  // refused once the method has returned
  EXPECT_LT(writes, 10000);
  Number number;
  ASSERT_TRUE(stream->Read(&number));  // what it wrote before it returned
  EXPECT_EQ(number.n(), 5);
  EXPECT_FALSE(stream->Read(&number));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kAborted);
}

TEST_F(InProcessStreamTest, TheDeadlineEndsBothSides) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(100));
  auto reader = stub_.Forever(Number(), &context);
  Number number;
  while (reader->Read(&number)) {
  }
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_NE(status.message().find("/syslink.rpc.test.Streamer/Forever: "), std::string::npos);
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  EXPECT_EQ(GetProgress().cancelled(), 1);
}

TEST_F(InProcessStreamTest, TheDeadlineEndsAFinishThatWaitsForTheMethod) {
  ClientContext context;
  context.set_timeout(absl::Milliseconds(50));
  Total total;
  auto writer = stub_.Gate(&total, &context);  // the method waits for Release
  EXPECT_EQ(writer->Finish().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(stub_.Release(Number()).ok());
}

TEST_F(InProcessStreamTest, TryCancelFromAnotherThreadEndsABlockedFinish) {
  ClientContext context;
  Total total;
  auto writer = stub_.Gate(&total, &context);  // never answers until released
  std::thread cancel([&] { context.TryCancel(); });
  EXPECT_EQ(writer->Finish().code(), absl::StatusCode::kCancelled);
  cancel.join();
  ASSERT_TRUE(stub_.Release(Number()).ok());  // the method then sees the cancel and returns
}

TEST_F(InProcessStreamTest, TryCancelFromAnotherThreadEndsTheMethodsRead) {
  ClientContext context;
  Total total;
  auto writer = probe_channel_->OpenStream(Probe::kDrain, nullptr, &total, &context);
  Attachment none;
  ASSERT_TRUE(writer->Write(Make(1), &none, /*wait=*/true).ok());
  std::thread cancel([&] { context.TryCancel(); });
  ASSERT_TRUE(probe_.WaitReturned());  // its Read() returned false
  cancel.join();
  EXPECT_TRUE(probe_.cancelled());
  EXPECT_EQ(writer->Finish().code(), absl::StatusCode::kCancelled);
}

TEST_F(InProcessStreamTest, TryCancelFromAnotherThreadEndsTheMethodsWrite) {
  ClientContext context;
  auto reader = stub_.Forever(Number(), &context);  // nobody reads: its Write() waits
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= kWindow; }));
  std::thread cancel([&] { context.TryCancel(); });
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  cancel.join();
  EXPECT_EQ(GetProgress().cancelled(), 1);
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
}

TEST_F(InProcessStreamTest, DestroyingAStreamBeforeFinishCancelsIt) {
  ClientContext context;
  auto stream = probe_channel_->OpenStream(Probe::kDrain, nullptr, nullptr, &context);
  stream.reset();
  ASSERT_TRUE(probe_.WaitReturned());
  EXPECT_TRUE(probe_.cancelled());
}

TEST_F(InProcessStreamTest, DestroyingTheChannelWaitsForTheMethodsOfAbandonedStreams) {
  {
    auto channel = std::make_shared<InProcessChannel>(&service_, Options());
    test::StreamerStub stub(channel);
    auto reader = stub.Forever(Number());  // no context: only its destruction ends it
    Number number;
    ASSERT_TRUE(reader->Read(&number));
  }
  // The channel's destructor returned once the method had: nothing runs on.
  EXPECT_EQ(GetProgress().ended(), 1);
  EXPECT_EQ(GetProgress().cancelled(), 1);
}

TEST_F(InProcessStreamTest, AMessageTheMethodCannotParseEndsItsSide) {
  Total total;
  auto writer = probe_channel_->OpenStream(Probe::kStrict, nullptr, &total, nullptr);
  Attachment none;
  ASSERT_TRUE(writer->Write(Make(3), &none, /*wait=*/true).ok());
  ASSERT_TRUE(probe_.WaitReturned());
  EXPECT_FALSE(probe_.read_or_wrote());
  EXPECT_TRUE(probe_.cancelled());
  EXPECT_TRUE(writer->Finish().ok());  // the method's own status
}

TEST_F(InProcessStreamTest, AMessageTheCallerCannotParseFailsTheStream) {
  Number request;
  request.set_n(1000);
  auto reader = channel_->OpenStream(Streamer::kCountdownMethod, &request, nullptr, nullptr);
  Strict strict;
  EXPECT_FALSE(reader->Read(&strict, nullptr));
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("does not parse"), std::string::npos) << status;
}

TEST_F(InProcessStreamTest, AResponseThatDoesNotParseFailsTheFinish) {
  Strict strict;  // Add's Total is no Strict
  auto writer = channel_->OpenStream(Streamer::kAddMethod, nullptr, &strict, nullptr);
  ASSERT_TRUE(writer->WritesDone().ok());
  EXPECT_EQ(writer->Finish().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace syslink::rpc
