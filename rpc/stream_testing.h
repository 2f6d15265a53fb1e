// What the stream tests share: StreamerService, a Streamer whose methods let a test drive
// each streaming kind and watch the server's side, and StreamTest, a fixture serving it from
// a process of its own with a small window.
//
//   TEST_F(StreamTest, ...) {
//     auto reader = stub_.Forever(Number(), &context);
//     ASSERT_TRUE(Eventually([&] { return GetProgress().written() >= kWindow; }));
//   }
//
// Thread safety: StreamerService's methods may run on any threads at once. Lifetime: a
// Gate call waits until Release is called, so a test that opens one releases it before the
// service goes.

#ifndef SYSLINK_RPC_STREAM_TESTING_H_
#define SYSLINK_RPC_STREAM_TESTING_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rpc/testdata/countdown_streamer.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "tests/support/forked_server.h"

namespace syslink::rpc {

// The window, in messages, of StreamTest's channel.
inline constexpr int kWindow = 8;

// The methods of stream_service.proto's Streamer as its comments describe them.
class StreamerService : public test::CountdownStreamer {
 public:
  using Number = test::Number;
  using Progress = test::Progress;
  using Total = test::Total;

  absl::Status Add(ServerContext& context, ServerReader<Number>* reader, Total* response) override {
    Number number;
    Attachment attachment;
    while (reader->Read(&number, &attachment)) {
      response->set_sum(response->sum() + number.n());
      response->set_messages(response->messages() + 1);
      if (attachment.size() > 0) {
        if (!test::IsFilled(attachment, number.n())) {
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

// A StreamerService in a forked process, its channel's window kWindow messages.
class StreamTest : public ::testing::Test {
 protected:
  StreamTest()
      : server_([] { return std::make_unique<StreamerService>(); }, Options()),
        stub_(server_.channel()) {}

  static syslink::testing::ForkedServerOptions Options() {
    syslink::testing::ForkedServerOptions options;
    options.channel.stream_window = kWindow;
    return options;
  }

  // What the server's Forever calls have done so far.
  test::Progress GetProgress() {
    absl::StatusOr<test::Progress> progress = stub_.GetProgress(test::Number());
    EXPECT_TRUE(progress.ok()) << progress.status();
    return progress.value_or(test::Progress());
  }

  syslink::testing::ForkedServer server_;
  test::StreamerStub stub_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_STREAM_TESTING_H_
