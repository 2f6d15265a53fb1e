// Streams between two processes, through generated stubs and a real link: each streaming
// kind, sync and async, attachments on stream messages, and many streams on one link beside
// unary calls. Flow control, the ways a stream ends and hostile peers have files of their
// own (stream_flow_control_test.cc, stream_end_test.cc, stream_hostile_peer_test.cc).

#include "rpc/stream.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/stream_testing.h"
#include "rpc/testdata/countdown_streamer.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Progress;
using ::syslink::rpc::test::Streamer;
using ::syslink::rpc::test::Total;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::ForkedServerOptions;
using ::syslink::testing::Soon;

TEST_F(StreamTest, ServerStreamingDeliversEveryMessageInOrder) {
  Number request;
  request.set_n(1000);
  auto reader = stub_.Countdown(request);
  Number number;
  int64_t expected = 0;
  while (reader->Read(&number)) {
    ASSERT_EQ(number.n(), expected);
    ++expected;
  }
  EXPECT_EQ(expected, 1000);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(StreamTest, TheAsyncFormCallsBackForEachMessageThenOnce) {
  Number request;
  request.set_n(100);
  ClientContext context;
  std::mutex mutex;
  std::condition_variable finished;
  std::vector<int64_t> seen;
  std::optional<absl::Status> result;
  stub_.CountdownAsync(
      request, &context,
      [&](Number& number, Attachment&) {
        std::lock_guard<std::mutex> lock(mutex);
        seen.push_back(number.n());
        return number.n() < 49;  // stops after 50
      },
      [&](absl::Status status) {
        std::lock_guard<std::mutex> lock(mutex);
        result = std::move(status);
        finished.notify_all();
      });
  std::unique_lock<std::mutex> lock(mutex);
  finished.wait(lock, [&] { return result.has_value(); });
  ASSERT_EQ(seen.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], i);
  // Finish() after reading stopped drops the rest; the method wrote all of them.
  EXPECT_TRUE(result->ok()) << *result;
}

TEST_F(StreamTest, ClientStreamingGetsOneResponse) {
  Total total;
  auto writer = stub_.Add(&total);
  for (int i = 1; i <= 1000; ++i) {
    Number number;
    number.set_n(i);
    ASSERT_TRUE(writer->Write(number));
  }
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.sum(), 1000 * 1001 / 2);
  EXPECT_EQ(total.messages(), 1000);
}

TEST_F(StreamTest, BidiReadsAndWritesFromTwoThreads) {
  auto stream = stub_.Echo();
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) {
      Number number;
      number.set_n(i);
      if (!stream->Write(number)) return;
    }
    stream->WritesDone();
  });
  Number number;
  std::vector<int64_t> seen;
  while (stream->Read(&number)) seen.push_back(number.n());
  writer.join();
  ASSERT_EQ(seen.size(), 501u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(seen[i], i);
  EXPECT_EQ(seen.back(), -1);  // sent after the client's WritesDone: half-close
  EXPECT_TRUE(stream->Finish().ok());
}

// What the async callbacks of one stream saw, and a way to wait for its `done`.
struct AsyncOutcome {
  std::mutex mutex;
  std::condition_variable finished;
  std::vector<int64_t> seen;
  std::optional<absl::Status> result;

  std::function<bool(Number&, Attachment&)> OnMessage() {
    return [this](Number& number, Attachment&) {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(number.n());
      return true;
    };
  }
  std::function<void(absl::Status)> Done() {
    return [this](absl::Status status) {
      std::lock_guard<std::mutex> lock(mutex);
      result = std::move(status);
      finished.notify_all();
    };
  }
  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, [&] { return result.has_value(); });
    return *result;
  }
};

TEST_F(StreamTest, ABidiStreamReadsAsyncWhileTheCallerWrites) {
  AsyncOutcome outcome;
  auto stream = stub_.Echo();
  stream->ReadAsync(outcome.OnMessage(), outcome.Done());
  for (int i = 0; i < 500; ++i) {
    Number number;
    number.set_n(i);
    ASSERT_TRUE(stream->Write(number));
  }
  EXPECT_TRUE(stream->WritesDone());
  EXPECT_TRUE(outcome.Wait().ok()) << *outcome.result;
  ASSERT_EQ(outcome.seen.size(), 501u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(outcome.seen[i], i);
  EXPECT_EQ(outcome.seen.back(), -1);
}

TEST_F(StreamTest, DroppingAnAsyncBidiStreamHalfClosesIt) {
  AsyncOutcome outcome;
  auto stream = stub_.Echo();
  stream->ReadAsync(outcome.OnMessage(), outcome.Done());
  for (int i = 0; i < 3; ++i) {
    Number number;
    number.set_n(i);
    ASSERT_TRUE(stream->Write(number));
  }
  stream.reset();  // no WritesDone(): the server sees the end of the messages all the same
  EXPECT_TRUE(outcome.Wait().ok()) << *outcome.result;
  EXPECT_EQ(outcome.seen, (std::vector<int64_t>{0, 1, 2, -1}));
}

TEST_F(StreamTest, AClientStreamFinishesAsync) {
  AsyncOutcome outcome;
  Total total;
  auto writer = stub_.Add(&total);
  for (int i = 1; i <= 100; ++i) {
    Number number;
    number.set_n(i);
    ASSERT_TRUE(writer->Write(number));
  }
  EXPECT_TRUE(writer->WritesDone());
  writer->FinishAsync(outcome.Done());
  writer.reset();  // the writer may go at once
  EXPECT_TRUE(outcome.Wait().ok()) << *outcome.result;
  EXPECT_EQ(total.sum(), 100 * 101 / 2);
  EXPECT_EQ(total.messages(), 100);
}

TEST_F(StreamTest, AttachmentsTravelWithStreamMessages) {
  constexpr int64_t kChunk = 128 * 1024;
  Number request;
  request.set_n(24);
  request.set_attachment_bytes(kChunk);
  auto reader = stub_.Countdown(request);
  Number number;
  Attachment attachment;
  int64_t received = 0;
  while (reader->Read(&number, &attachment)) {
    ASSERT_EQ(attachment.size(), static_cast<size_t>(kChunk));
    ASSERT_TRUE(test::IsFilled(attachment, number.n())) << number.n();
    ++received;
  }
  EXPECT_EQ(received, 24);
  ASSERT_TRUE(reader->Finish().ok());

  // And from the client, zero-copy from the channel's arena.
  Total total;
  auto writer = stub_.Add(&total);
  for (int64_t i = 0; i < 24; ++i) {
    absl::StatusOr<Attachment> chunk = server_.channel()->AllocateAttachment(kChunk);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    test::Fill(*chunk, i);
    number.set_n(i);
    ASSERT_TRUE(writer->Write(number, *std::move(chunk)));
  }
  writer->WritesDone();
  absl::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(total.attachment_bytes(), 24 * kChunk);
}

// With a window of one message, the client sends the next message with an attachment only
// once the last is answered, which the server does when its method reads on: at that
// Read(), not once the next message has come.
TEST(StreamWindowTest, AWindowOfOneCarriesAttachmentsFromTheClient) {
  ForkedServerOptions options;
  options.channel.stream_window = 1;
  ForkedServer server([] { return std::make_unique<StreamerService>(); }, options);
  test::StreamerStub stub(server.channel());
  ClientContext context;
  context.set_deadline(Soon());
  Total total;
  auto writer = stub.Add(&total, &context);
  Number number;
  for (int64_t i = 0; i < 6; ++i) {
    absl::StatusOr<Attachment> chunk = server.channel()->AllocateAttachment(4096);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    test::Fill(*chunk, i);
    number.set_n(i);
    ASSERT_TRUE(writer->Write(number, *std::move(chunk))) << i;
  }
  writer->WritesDone();
  absl::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(total.messages(), 6);
  EXPECT_EQ(total.attachment_bytes(), 6 * 4096);
}

// A thread blocked on a quiet stream may be the one reading the link when another thread's
// async call is answered: that callback must not wait for the stream. Without a completion
// thread the other thread's Drain() runs it; with one, the completion thread does. In spin
// mode the stream's reader spins holding the channel: it must let either of them in.
struct ReaderCase {
  const char* name;
  ring::WaitMode mode;
  bool completion_thread;
};

class StreamReaderTest : public ::testing::TestWithParam<ReaderCase> {};

TEST_P(StreamReaderTest, AnAsyncCallbackDoesNotWaitForAStreamsReader) {
  ForkedServerOptions options;
  options.channel.completion_thread = GetParam().completion_thread;
  options.link.wait.mode = GetParam().mode;
  ForkedServer server([] { return std::make_unique<StreamerService>(); }, options);
  test::StreamerStub stub(server.channel());
  auto stream = stub.Echo();
  Number number;
  number.set_n(1);
  ASSERT_TRUE(stream->Write(number));
  ASSERT_TRUE(stream->Read(&number));
  {
    // A first async call: the completion thread, if any, starts, and then waits for work.
    test::Progress first;
    absl::Notification done;
    stub.GetProgressAsync(Number(), &first, nullptr, [&](absl::Status) { done.Notify(); });
    if (!GetParam().completion_thread) server.channel()->Drain(Soon());
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(syslink::testing::kPatience));
  }
  std::atomic<bool> reading{false};
  std::thread reader([&] {
    Number echoed;
    reading.store(true);
    while (stream->Read(&echoed) && echoed.n() != -1) {
    }
  });
  ASSERT_TRUE(syslink::testing::Eventually([&] { return reading.load(); }));
  test::Progress progress;
  absl::Notification called;
  stub.GetProgressAsync(Number(), &progress, nullptr, [&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    called.Notify();
  });
  if (!GetParam().completion_thread) EXPECT_EQ(server.channel()->Drain(Soon()), 0u);
  EXPECT_TRUE(called.WaitForNotificationWithTimeout(syslink::testing::kPatience));
  stream->WritesDone();
  reader.join();
  EXPECT_TRUE(stream->Finish().ok());
}

INSTANTIATE_TEST_SUITE_P(
    ModesAndCompleters, StreamReaderTest,
    ::testing::Values(ReaderCase{"HybridDrainOnly", ring::WaitMode::kHybrid, false},
                      ReaderCase{"SpinDrainOnly", ring::WaitMode::kSpin, false},
                      ReaderCase{"HybridCompletionThread", ring::WaitMode::kHybrid, true},
                      ReaderCase{"SpinCompletionThread", ring::WaitMode::kSpin, true}),
    [](const ::testing::TestParamInfo<ReaderCase>& info) { return std::string(info.param.name); });

TEST_F(StreamTest, AWriteThatFailsLeavesTheAttachmentWithTheCaller) {
  Total total;
  auto writer = stub_.Add(&total);
  Number number;
  number.set_n(3);
  // Past the link's DMA limit (128 KiB): refused, and still the caller's to send otherwise.
  Attachment attachment = Attachment::FromBytes(std::vector<std::byte>(200 * 1024));
  absl::Status refused = writer->TryWrite(number, &attachment);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_EQ(attachment.size(), 200u * 1024);
  Attachment smaller = Attachment::FromBytes(std::span(attachment.data().data(), 4096));
  test::Fill(smaller, 3);
  ASSERT_TRUE(writer->TryWrite(number, &smaller).ok());
  EXPECT_EQ(smaller.size(), 0u);  // taken when sent
  writer->WritesDone();
  absl::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(total.messages(), 1);
  EXPECT_EQ(total.attachment_bytes(), 4096);
}

TEST_F(StreamTest, ManyStreamsAndUnaryCallsShareOneLink) {
  constexpr int kThreads = 6;
  std::mutex mutex;
  std::vector<std::string> failures;
  auto fail = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    failures.push_back(std::move(what));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Number request;
      request.set_n(300 + t);
      auto reader = stub_.Countdown(request);
      Number number;
      int64_t expected = 0;
      while (reader->Read(&number)) {
        if (number.n() != expected) fail(absl::StrCat(t, ": got ", number.n(), " for ", expected));
        ++expected;
        if (expected % 50 == 0) {
          absl::StatusOr<Progress> progress = stub_.GetProgress(Number());
          if (!progress.ok()) fail(absl::StrCat(t, ": unary call: ", progress.status().ToString()));
        }
      }
      absl::Status status = reader->Finish();
      if (expected != 300 + t || !status.ok()) {
        fail(absl::StrCat(t, ": ", expected, " messages, ", status.ToString()));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
}

TEST_F(StreamTest, AUnaryCallOfAStreamingMethodIsRefused) {
  Number request;
  Number response;
  absl::Status status =
      server_.channel()->Call(Streamer::kCountdownMethod, request, &response, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
}

}  // namespace
}  // namespace syslink::rpc
