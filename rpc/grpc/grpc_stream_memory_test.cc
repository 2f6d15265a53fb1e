// What GrpcServer holds of its callers' stream messages. max_read_ahead_bytes: streams stop
// reading ahead once all of them hold the budget, and lose nothing; a handler waiting for a
// message still gets it; the bytes come back on every way a stream ends, for the next
// stream to read ahead with. max_transport_memory_bytes: past it, gRPC cuts streams off.

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/grpc_server.h"
#include "rpc/grpc/testdata/interop.pb.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::interop::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;

// A stream's handler holds: reads nothing until released (StreamHandler::Release) or
// cancelled. Released, it reads every message, or returns at once.
constexpr Method kHold{0, "/test.ReadAhead/Hold", MethodKind::kBidiStreaming};
// Writes back every message it reads.
constexpr Method kEcho{0, "/test.ReadAhead/Echo", MethodKind::kBidiStreaming};

constexpr size_t kMessageBytes = 32 << 10;
// A message as the server holds it: the blob, its text and their framing.
constexpr uint64_t kFrameBytes = kMessageBytes + 64;

class StreamHandler final : public GrpcCallHandler {
 public:
  // What a held stream's handler does once released.
  enum class Then { kReadAll, kReturn };

  absl::Status Handle(GrpcServerCall&, GrpcReply*) override {
    return absl::UnimplementedError("streams only");
  }
  MethodKind KindOf(absl::string_view, std::optional<MethodKind>) override {
    return MethodKind::kBidiStreaming;
  }
  absl::Status HandleStream(GrpcServerCall& call, GrpcServerStream& stream, GrpcReply*) override {
    if (call.path() == kEcho.path) {
      Text message;
      while (stream.Read(&message, nullptr)) {
        if (!stream.Write(message, Attachment())) break;
      }
      return absl::OkStatus();
    }
    bool cancelled = false;
    call.OnCancel([&] {
      absl::MutexLock lock(&mutex_);
      cancelled = true;
      ++cancelled_;
    });
    std::optional<Then> then;
    {
      absl::MutexLock lock(&mutex_);
      ++holding_;
      auto released = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return release_.has_value() || cancelled;
      };
      mutex_.Await(absl::Condition(&released));
      --holding_;
      if (!cancelled) then = release_;
    }
    call.OnCancel(nullptr);
    if (then != Then::kReadAll) return absl::OkStatus();
    Text message;
    std::vector<std::string> texts;
    while (stream.Read(&message, nullptr)) texts.push_back(message.text());
    absl::MutexLock lock(&mutex_);
    read_.push_back(std::move(texts));
    return absl::OkStatus();
  }

  // Releases the streams holding, and those that come until HoldAgain().
  void Release(Then then) {
    absl::MutexLock lock(&mutex_);
    release_ = then;
  }
  void HoldAgain() {
    absl::MutexLock lock(&mutex_);
    release_.reset();
  }
  int holding() {
    absl::MutexLock lock(&mutex_);
    return holding_;
  }
  // Held streams cancelled so far.
  int cancelled() {
    absl::MutexLock lock(&mutex_);
    return cancelled_;
  }
  // What each stream released with kReadAll read, in the order they returned.
  std::vector<std::vector<std::string>> read() {
    absl::MutexLock lock(&mutex_);
    return read_;
  }

 private:
  absl::Mutex mutex_;
  std::optional<Then> release_ ABSL_GUARDED_BY(mutex_);
  int holding_ ABSL_GUARDED_BY(mutex_) = 0;
  int cancelled_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::vector<std::string>> read_ ABSL_GUARDED_BY(mutex_);
};

Text MessageOf(std::string text) {
  Text message;
  message.set_text(std::move(text));
  message.set_blob(std::string(kMessageBytes, 'b'));
  return message;
}

// One caller's stream: a thread writes `count` messages ("0", "1", ...) as flow control
// lets it, then half-closes. Its deadline is Soon().
class Sender {
 public:
  Sender(GrpcChannel& channel, const Method& method, int count) {
    context_.set_deadline(Soon());
    stream_ = channel.OpenStream(method, nullptr, nullptr, &context_);
    writer_ = std::thread([this, count] {
      for (int i = 0; i < count; ++i) {
        Attachment none;
        absl::Status status = stream_->Write(MessageOf(absl::StrCat(i)), &none, /*wait=*/true);
        if (!status.ok()) return;
      }
      (void)stream_->WritesDone();
    });
  }
  // Cancels the stream unless Finish() was called.
  ~Sender() {
    if (writer_.joinable()) context_.TryCancel();
    (void)Finish();
  }

  ClientContext& context() { return context_; }
  // Waits for the writes, then for the stream's status.
  absl::Status Finish() {
    if (!writer_.joinable()) return status_;
    writer_.join();
    status_ = stream_->Finish();
    return status_;
  }

 private:
  ClientContext context_;
  std::unique_ptr<ClientStream> stream_;
  std::thread writer_;
  absl::Status status_;
};

std::vector<std::string> Numbers(int count) {
  std::vector<std::string> texts;
  for (int i = 0; i < count; ++i) texts.push_back(absl::StrCat(i));
  return texts;
}

class GrpcStreamMemoryTest : public ::testing::Test {
 protected:
  void Start(const GrpcServerOptions& options) {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(&handler_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server_->port())));
  }
  void TearDown() override {
    handler_.Release(StreamHandler::Then::kReturn);
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
  }
  // The most the server holds read ahead while `period` passes.
  uint64_t MostHeldFor(absl::Duration period) {
    uint64_t most = 0;
    for (absl::Time end = absl::Now() + period; absl::Now() < end;) {
      most = std::max(most, server_->read_ahead_bytes());
      absl::SleepFor(absl::Microseconds(100));
    }
    return most;
  }

  StreamHandler handler_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<GrpcChannel> channel_;
};

// Four streams whose handlers take nothing would each read ahead 16 messages (512 KiB):
// 2 MiB. With a budget of 256 KiB they stop at it, past it by one message each at most,
// for as long as the test watches while the callers go on sending; released, each handler
// reads every message, in order.
TEST_F(GrpcStreamMemoryTest, StreamsStopReadingAheadAtTheBudgetAndLoseNothing) {
  constexpr uint64_t kBudget = 256 << 10;
  constexpr int kStreams = 4, kCount = 48;
  Start({.max_read_ahead_bytes = kBudget});
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < kStreams; ++i) {
    senders.push_back(std::make_unique<Sender>(*channel_, kHold, kCount));
  }
  ASSERT_TRUE(Eventually([&] { return handler_.holding() == kStreams; }));
  ASSERT_TRUE(Eventually([&] { return server_->read_ahead_bytes() >= kBudget; }));
  EXPECT_LE(MostHeldFor(absl::Milliseconds(500)), kBudget + kStreams * kFrameBytes);

  handler_.Release(StreamHandler::Then::kReadAll);
  for (auto& sender : senders) EXPECT_TRUE(sender->Finish().ok());
  std::vector<std::vector<std::string>> read = handler_.read();
  ASSERT_EQ(read.size(), size_t{kStreams});
  for (const std::vector<std::string>& texts : read) EXPECT_EQ(texts, Numbers(kCount));
  EXPECT_EQ(server_->read_ahead_bytes(), 0u);
}

// A stream whose handler waits for its next message reads it, whatever the others hold:
// the budget bounds reading ahead, not reading.
TEST_F(GrpcStreamMemoryTest, AWaitingHandlerGetsItsMessageWhileOtherStreamsHoldTheBudget) {
  constexpr uint64_t kBudget = 64 << 10;
  Start({.max_read_ahead_bytes = kBudget});
  Sender holder(*channel_, kHold, 16);
  ASSERT_TRUE(Eventually([&] { return server_->read_ahead_bytes() >= kBudget; }));

  ClientContext context;
  context.set_deadline(Soon());
  std::unique_ptr<ClientStream> echo = channel_->OpenStream(kEcho, nullptr, nullptr, &context);
  for (int i = 0; i < 3; ++i) {
    Attachment none;
    ASSERT_TRUE(echo->Write(MessageOf(absl::StrCat("echo ", i)), &none, /*wait=*/true).ok());
    Text echoed;
    ASSERT_TRUE(echo->Read(&echoed, nullptr)) << i;
    EXPECT_EQ(echoed.text(), absl::StrCat("echo ", i));
    EXPECT_GE(server_->read_ahead_bytes(), kBudget);  // the holder still holds it all
  }
  ASSERT_TRUE(echo->WritesDone().ok());
  EXPECT_TRUE(echo->Finish().ok());
}

// With no read-ahead at all, a stream still gets each message its handler asks for.
TEST_F(GrpcStreamMemoryTest, ANoughtBudgetStillServesStreams) {
  Start({.max_read_ahead_bytes = 0});
  ClientContext context;
  context.set_deadline(Soon());
  std::unique_ptr<ClientStream> echo = channel_->OpenStream(kEcho, nullptr, nullptr, &context);
  for (int i = 0; i < 3; ++i) {
    Attachment none;
    ASSERT_TRUE(echo->Write(MessageOf(absl::StrCat(i)), &none, /*wait=*/true).ok());
    Text echoed;
    ASSERT_TRUE(echo->Read(&echoed, nullptr)) << i;
    EXPECT_EQ(echoed.text(), absl::StrCat(i));
  }
  ASSERT_TRUE(echo->WritesDone().ok());
  EXPECT_TRUE(echo->Finish().ok());
  EXPECT_EQ(server_->read_ahead_bytes(), 0u);
}

// A stream that holds the whole budget gives it back when it ends, however it ends, and a
// stream after it reads ahead with it.
class GrpcReadAheadReturnTest : public GrpcStreamMemoryTest {
 protected:
  static constexpr uint64_t kBudget = 128 << 10;

  // A new stream whose handler takes nothing reads ahead more than one message.
  void ExpectANewStreamReadsAhead() {
    const uint64_t before = server_->read_ahead_bytes();
    Sender next(*channel_, kHold, 8);
    EXPECT_TRUE(
        Eventually([&] { return server_->read_ahead_bytes() >= before + 3 * kMessageBytes; }));
  }
};

TEST_F(GrpcReadAheadReturnTest, ACancelledStreamGivesItsBytesBack) {
  Start({.max_read_ahead_bytes = kBudget});
  Sender first(*channel_, kHold, 16);
  ASSERT_TRUE(Eventually([&] { return server_->read_ahead_bytes() >= kBudget; }));
  first.context().TryCancel();
  EXPECT_TRUE(absl::IsCancelled(first.Finish()));
  EXPECT_TRUE(Eventually([&] { return server_->read_ahead_bytes() == 0; }));
  ExpectANewStreamReadsAhead();
}

TEST_F(GrpcReadAheadReturnTest, AHandlerThatReturnsWithoutReadingGivesTheBytesBack) {
  Start({.max_read_ahead_bytes = kBudget});
  Sender first(*channel_, kHold, 16);
  ASSERT_TRUE(Eventually([&] { return server_->read_ahead_bytes() >= kBudget; }));
  handler_.Release(StreamHandler::Then::kReturn);
  EXPECT_TRUE(Eventually([&] { return server_->read_ahead_bytes() == 0; }));
  EXPECT_TRUE(first.Finish().ok());
  handler_.HoldAgain();
  ExpectANewStreamReadsAhead();
}

TEST_F(GrpcReadAheadReturnTest, ShutdownGivesTheBytesBack) {
  Start({.max_read_ahead_bytes = kBudget});
  Sender first(*channel_, kHold, 16);
  ASSERT_TRUE(Eventually([&] { return server_->read_ahead_bytes() >= kBudget; }));
  server_->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(server_->read_ahead_bytes(), 0u);
  EXPECT_FALSE(first.Finish().ok());
}

// Six streams whose handlers take nothing read ahead 3 MiB; a quota of 2 MiB does not hold
// that (nor the messages gRPC's windows let in beyond): gRPC cancels streams, or closes
// their connection, and each caller so cut off gets RESOURCE_EXHAUSTED or UNAVAILABLE.
TEST_F(GrpcStreamMemoryTest, PastItsTransportMemoryGrpcCutsStreamsOff) {
  constexpr int kStreams = 6;
  Start({.max_transport_memory_bytes = 2 << 20});
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < kStreams; ++i) {
    senders.push_back(std::make_unique<Sender>(*channel_, kHold, 32));
  }
  ASSERT_TRUE(Eventually([&] { return handler_.cancelled() > 0; }));
  handler_.Release(StreamHandler::Then::kReturn);
  int cut_off = 0;
  for (auto& sender : senders) {
    const absl::Status status = sender->Finish();
    if (absl::IsResourceExhausted(status) || absl::IsUnavailable(status)) {
      ++cut_off;
    } else {
      EXPECT_TRUE(status.ok()) << status;
    }
  }
  EXPECT_GE(cut_off, 1);
}

TEST(GrpcStreamMemoryOptionsTest, ANegativeBudgetOrTransportMemoryIsRefused) {
  StreamHandler handler;
  EXPECT_TRUE(
      absl::IsInvalidArgument(GrpcServer::Start(&handler, {.max_read_ahead_bytes = -1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      GrpcServer::Start(&handler, {.max_transport_memory_bytes = -1}).status()));
  EXPECT_TRUE(GrpcServer::Start(&handler, {.max_read_ahead_bytes = 0}).ok());
}

// By default the quota holds twice what the server's own bounds let it hold, so that those
// bounds (which hold callers back) come first; never less than 1 GiB.
TEST(GrpcStreamMemoryOptionsTest, TheDefaultQuotaHoldsWhatTheOtherBoundsAllow) {
  StreamHandler handler;
  constexpr uint64_t kMiB = 1 << 20;
  absl::StatusOr<std::unique_ptr<GrpcServer>> defaults = GrpcServer::Start(&handler, {});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  // 256 MiB queued + 256 MiB read ahead + 8 workers' 64 MiB requests, twice.
  EXPECT_EQ((*defaults)->transport_memory_bytes(), 2 * (256 + 256 + 8 * 64) * kMiB);
  absl::StatusOr<std::unique_ptr<GrpcServer>> small = GrpcServer::Start(
      &handler, {.workers = 1, .max_queued_bytes = 1 << 20, .max_read_ahead_bytes = 1 << 20});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ((*small)->transport_memory_bytes(), 1024 * kMiB);
  absl::StatusOr<std::unique_ptr<GrpcServer>> chosen =
      GrpcServer::Start(&handler, {.max_transport_memory_bytes = 3 << 20});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ((*chosen)->transport_memory_bytes(), 3 * kMiB);
}

}  // namespace
}  // namespace syslink::rpc
