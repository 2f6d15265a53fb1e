// Streams between two processes, through generated stubs and a real link: every streaming
// kind, flow control (a slow reader holds a fast writer to the window), a server killed
// with SIGKILL mid-stream, deadline and TryCancel seen on both sides, half-close and an
// early Finish, attachments on stream messages, and many streams on one link beside unary
// calls.

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/internal/call_format.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/stream.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "syslink/status.h"
#include "tests/support/eventually.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Progress;
using ::syslink::rpc::test::Streamer;
using ::syslink::rpc::test::StreamerStub;
using ::syslink::rpc::test::Total;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::ForkedServerOptions;

constexpr int kWindow = 8;

bool Filled(const Attachment& attachment, int64_t n) {
  for (std::byte b : attachment.data()) {
    if (b != static_cast<std::byte>(n & 0xff)) return false;
  }
  return true;
}

class StreamerService : public Streamer {
 public:
  absl::Status Countdown(ServerContext& context, const Number& request,
                         ServerWriter<Number>* writer) override {
    for (int64_t i = 0; i < request.n(); ++i) {
      Number message;
      message.set_n(i);
      Attachment attachment;
      if (request.attachment_bytes() > 0) {
        absl::StatusOr<Attachment> buffer = context.AllocateAttachment(request.attachment_bytes());
        if (!buffer.ok()) return buffer.status();
        std::memset(buffer->data().data(), static_cast<int>(i & 0xff), buffer->size());
        attachment = *std::move(buffer);
      }
      if (!writer->Write(message, std::move(attachment))) {
        return absl::CancelledError("the client stopped reading");
      }
    }
    return absl::OkStatus();
  }

  absl::Status Add(ServerContext& context, ServerReader<Number>* reader,
                   Total* response) override {
    Number number;
    Attachment attachment;
    while (reader->Read(&number, &attachment)) {
      response->set_sum(response->sum() + number.n());
      response->set_messages(response->messages() + 1);
      if (attachment.size() > 0) {
        if (!Filled(attachment, number.n())) {
          return absl::DataLossError(absl::StrCat("attachment of ", number.n()));
        }
        response->set_attachment_bytes(response->attachment_bytes() + attachment.size());
      }
    }
    return context.cancelled() ? absl::CancelledError("cancelled") : absl::OkStatus();
  }

  absl::Status Gate(ServerContext& context, ServerReader<Number>* reader,
                    Total* response) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      released_.wait(lock, [this] { return released_flag_; });
    }
    return Add(context, reader, response);
  }

  absl::Status Release(ServerContext&, const Number&, Number*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    released_flag_ = true;
    released_.notify_all();
    return absl::OkStatus();
  }

  absl::Status Echo(ServerContext&, ServerReaderWriter<Number, Number>* stream) override {
    Number number;
    while (stream->Read(&number)) {
      if (number.n() == -2) return absl::AbortedError("asked to stop");
      if (!stream->Write(number)) return absl::CancelledError("the client stopped reading");
    }
    number.set_n(-1);
    stream->Write(number);
    return absl::OkStatus();
  }

  absl::Status Forever(ServerContext& context, const Number&,
                       ServerWriter<Number>* writer) override {
    Number number;
    while (writer->Write(number)) {
      written_.fetch_add(1);
      number.set_n(number.n() + 1);
    }
    if (context.cancelled()) cancelled_.fetch_add(1);
    ended_.fetch_add(1);
    return absl::CancelledError("the client stopped reading");
  }

  absl::Status GetProgress(ServerContext&, const Number&, Progress* response) override {
    response->set_written(written_.load());
    response->set_cancelled(cancelled_.load());
    response->set_ended(ended_.load());
    return absl::OkStatus();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool released_flag_ = false;
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> cancelled_{0};
  std::atomic<int64_t> ended_{0};
};

class StreamTest : public ::testing::Test {
 protected:
  StreamTest()
      : server_([] { return std::make_unique<StreamerService>(); }, Options()),
        stub_(server_.channel()) {}

  static ForkedServerOptions Options() {
    ForkedServerOptions options;
    options.channel.stream_window = kWindow;
    return options;
  }

  Progress GetProgress() {
    absl::StatusOr<Progress> progress = stub_.GetProgress(Number());
    EXPECT_TRUE(progress.ok()) << progress.status();
    return progress.value_or(Progress());
  }

  ForkedServer server_;
  StreamerStub stub_;
};

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

TEST_F(StreamTest, ASlowReaderHoldsTheWriterToTheWindow) {
  ClientContext context;
  auto reader = stub_.Forever(Number(), &context);
  Number number;
  ASSERT_TRUE(reader->Read(&number));  // the stream runs; the client now reads nothing
  // The server writes what the client's window and its own buffer (as large) hold.
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= kWindow; }));
  EXPECT_LE(GetProgress().written(), 2 * kWindow + 1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(reader->Read(&number));
  ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= 21 + kWindow; }));
  // Held to what was read and the two windows, however long the reader dawdles.
  EXPECT_LE(GetProgress().written(), 21 + 2 * kWindow + 1);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(Eventually([&] { return GetProgress().ended() == 1; }));
  EXPECT_EQ(GetProgress().cancelled(), 1);
}

TEST_F(StreamTest, TryWriteRefusesAFullWindowInsteadOfWaiting) {
  Total total;
  auto writer = stub_.Gate(&total);  // reads nothing until Release
  Number number;
  number.set_n(1);
  for (int i = 0; i < kWindow; ++i) ASSERT_TRUE(writer->TryWrite(number).ok()) << i;
  EXPECT_EQ(writer->TryWrite(number).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(stub_.Release(Number()).ok());
  EXPECT_TRUE(writer->Write(number));  // waits for room, which the reader now makes
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.messages(), kWindow + 1);
}

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
  auto method = std::make_unique<Method>(
      Method{MethodIdOfPath(*path), *path, MethodKind::kServerStreaming});
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

TEST(StreamByteWindowTest, AWriterKeepsAMegabyteOfMessagesInFlight) {
  // The default window (1024 messages): the byte window holds the writer back first.
  ForkedServer server([] { return std::make_unique<StreamerService>(); });
  StreamerStub stub(server.channel());
  Total total;
  auto writer = stub.Gate(&total);  // not released: the method reads nothing yet
  Number big;
  big.set_padding(std::string(100 * 1024, 'p'));
  int sent = 0;
  absl::Status full;
  while ((full = writer->TryWrite(big)).ok()) ++sent;
  EXPECT_EQ(sent, static_cast<int>(internal::kStreamWindowBytes / big.ByteSizeLong()));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  ASSERT_TRUE(stub.Release(Number()).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Write(big));  // room again as it reads
  EXPECT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.messages(), sent + 10);
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
    ASSERT_TRUE(Filled(attachment, number.n())) << number.n();
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
    std::memset(chunk->data().data(), static_cast<int>(i & 0xff), chunk->size());
    number.set_n(i);
    ASSERT_TRUE(writer->Write(number, *std::move(chunk)));
  }
  writer->WritesDone();
  absl::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(total.attachment_bytes(), 24 * kChunk);
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


// A hostile client on a raw link: stream requests with broken headers, for streams that
// are not open, and past the server's limits each get a clear answer, and the server goes
// on serving.
class RawStreamTest : public ::testing::Test {
 protected:
  RawStreamTest() {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok());
    server_.ServeLink(&service_, std::move(pair->second));
    client_ = std::move(pair->first);
  }
  ~RawStreamTest() override {
    client_.Close();
    server_.Shutdown();
  }

  // Sends a call header with `flags` and `stream_id` (and no message).
  absl::StatusOr<uint64_t> SendHeader(uint32_t method, uint16_t flags, uint32_t stream_id) {
    internal::CallHeader header{internal::kCallMagic, internal::kCallVersion, flags, 0,
                                stream_id, 0, 0};
    return client_.Send(method, std::as_bytes(std::span(&header, 1)));
  }
  // The reply to `id` (other messages are not expected here).
  Message ReplyTo(uint64_t id) {
    while (true) {
      absl::StatusOr<Message> message = client_.Receive(absl::Now() + absl::Seconds(10));
      EXPECT_TRUE(message.ok()) << message.status();
      if (!message.ok() || message->id == id) return message.ok() ? *std::move(message) : Message();
    }
  }
  absl::Status StatusOf(uint16_t flags, uint32_t stream_id, uint32_t method = kGate) {
    absl::StatusOr<uint64_t> id = SendHeader(method, flags, stream_id);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? ReplyTo(*id).status : id.status();
  }
  bool IsEnd(const Message& reply) {
    internal::CallHeader header{};
    if (!reply.status.ok() || reply.data.size() < sizeof(header)) return false;
    std::memcpy(&header, reply.data.data(), sizeof(header));
    return (header.flags & internal::kCallStreamEnd) != 0;
  }

  static constexpr uint32_t kGate = Streamer::kGateMethodId;
  StreamerService service_;
  Server server_;
  Link client_;
};

TEST_F(RawStreamTest, MalformedStreamHeadersAreRefused) {
  using namespace internal;  // the flags
  EXPECT_EQ(StatusOf(kCallStreamOpen | kCallStreamPull, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(kCallStreamPull, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(0, 5).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(kCallStreamOpen | kCallStreamEnd, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(1 << 12, 0).code(), absl::StatusCode::kInvalidArgument);
  // A unary method opened as a stream.
  EXPECT_EQ(StatusOf(kCallStreamOpen, 1, Streamer::kReleaseMethodId).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RawStreamTest, RequestsForAStreamThatIsNotOpenAreAnswered) {
  using namespace internal;
  absl::StatusOr<uint64_t> pull = SendHeader(kGate, kCallStreamPull, 9);
  ASSERT_TRUE(pull.ok());
  EXPECT_TRUE(IsEnd(ReplyTo(*pull)));
  EXPECT_EQ(StatusOf(kCallStreamMessage, 9).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(StatusOf(kCallStreamHalfClose, 9).ok());
  EXPECT_TRUE(StatusOf(kCallStreamCancel, 9).ok());
}

TEST_F(RawStreamTest, AStreamsQueuesAreBounded) {
  using namespace internal;
  absl::StatusOr<uint64_t> open = SendHeader(kGate, kCallStreamOpen, 3);  // never reads
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(StatusOf(kCallStreamOpen, 3).code(), absl::StatusCode::kInvalidArgument);  // twice
  for (int i = 0; i < 1024; ++i) {  // the most a stream holds
    ASSERT_TRUE(SendHeader(kGate, kCallStreamPull, 3).ok());
  }
  EXPECT_EQ(StatusOf(kCallStreamPull, 3).code(), absl::StatusCode::kResourceExhausted);
  // A cancel ends the stream: once its method returns, the opening is answered (after
  // every pull, with the end).
  EXPECT_TRUE(StatusOf(kCallStreamCancel, 3).ok());
  ServerContext context(PeerIdentity{}, absl::InfiniteFuture());
  Number none;
  ASSERT_TRUE(service_.Release(context, none, &none).ok());
  EXPECT_EQ(ReplyTo(*open).status.code(), absl::StatusCode::kCancelled);
}


// A hostile server: a pull answered with a batch that lies about its messages ends the
// stream with INVALID_ARGUMENT on the client, which does not crash or hang.
TEST_F(RawStreamTest, AStreamsUnreadBytesAreBounded) {
  using namespace internal;
  ASSERT_TRUE(SendHeader(kGate, kCallStreamOpen, 5).ok());  // never reads
  // Messages of 100 KB, sent with no regard for the client's byte window.
  CallHeader header{kCallMagic, kCallVersion, kCallStreamMessage, 100 * 1024, 5, 0, 0};
  std::string request(sizeof(header), '\0');
  std::memcpy(request.data(), &header, sizeof(header));
  request.append(100 * 1024, 'm');
  std::vector<uint64_t> ids;
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<uint64_t> id = client_.Send(kGate, std::as_bytes(std::span(request)));
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  // The ones held unread are not answered; the first answer refuses the first message
  // past the bound.
  const size_t held = 2 * kStreamWindowBytes / (100 * 1024);  // the server holds twice the window
  absl::StatusOr<Message> reply = client_.Receive(absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->id, ids[held]);
  EXPECT_EQ(reply->status.code(), absl::StatusCode::kResourceExhausted) << reply->status;
  ServerContext context(PeerIdentity{}, absl::InfiniteFuture());
  Number none;
  ASSERT_TRUE(service_.Release(context, none, &none).ok());  // the method returns
}

TEST(HostileServerTest, AMalformedBatchEndsTheStream) {
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  Link server = std::move(pair->second);
  auto channel = std::make_shared<LinkChannel>(std::move(pair->first));
  StreamerStub stub(channel);
  std::thread fake([&] {
    uint64_t open = 0;
    while (true) {
      absl::StatusOr<Message> request = server.Receive(absl::Now() + absl::Seconds(10));
      if (!request.ok()) return;
      internal::CallHeader header{};
      std::memcpy(&header, request->data.data(), sizeof(header));
      if (header.flags & internal::kCallStreamOpen) {
        open = request->id;
        continue;
      }
      if (!(header.flags & internal::kCallStreamPull)) continue;
      // A batch whose first message claims 1000 bytes of the 3 that follow.
      const char body[] = {'\xe8', '\x03', 0, 0, 'a', 'b', 'c'};
      internal::CallHeader reply{internal::kCallMagic, internal::kCallVersion,
                                 internal::kCallStreamBatch, sizeof(body), 0, 0, 0};
      std::string bytes(reinterpret_cast<const char*>(&reply), sizeof(reply));
      bytes.append(body, sizeof(body));
      (void)server.Reply(request->id, absl::OkStatus(), std::as_bytes(std::span(bytes)));
      internal::CallHeader done{internal::kCallMagic, internal::kCallVersion, 0, 0, 0, 0, 0};
      (void)server.Reply(open, absl::OkStatus(), std::as_bytes(std::span(&done, 1)));
      return;
    }
  });
  Number request;
  request.set_n(5);
  auto reader = stub.Countdown(request);
  Number number;
  EXPECT_FALSE(reader->Read(&number));
  absl::Status status = reader->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("1000-byte message"));
  fake.join();
}

}  // namespace
}  // namespace syslink::rpc
