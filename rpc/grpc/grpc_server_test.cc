// GrpcServer's threads: a unary call is answered on a poller, and a handler that blocks
// holds up neither other calls nor the news of its own cancellation; `workers` bounds the
// handlers running at once.

#include "rpc/grpc/grpc_server.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::interop::InteropStub;
using ::syslink::interop::Text;
using ::syslink::testing::Eventually;
using ::syslink::testing::Soon;

// Answers every call with an empty message; a call whose request text is "block" waits
// until released or cancelled, and counts the handlers running at once.
class BlockingHandler final : public GrpcCallHandler {
 public:
  absl::Status Handle(GrpcServerCall& call, GrpcReply* reply) override {
    Text request;
    if (!request.ParseFromString(call.MessageBytes())) return absl::InvalidArgumentError("?");
    {
      absl::MutexLock lock(&mutex_);
      ++running_;
      max_running_ = std::max(max_running_, running_);
    }
    bool cancelled = false;
    if (request.text() == "block") {
      call.OnCancel([this] {
        absl::MutexLock lock(&mutex_);
        saw_cancel_ = true;
      });
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](BlockingHandler* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
            return self->released_ || self->saw_cancel_;
          },
          this));
      cancelled = saw_cancel_;
    }
    call.OnCancel(nullptr);
    {
      absl::MutexLock lock(&mutex_);
      --running_;
    }
    if (cancelled) return absl::CancelledError("seen");
    reply->Set(grpc_internal::FrameMessage::Of(std::span<const std::byte>()));
    return absl::OkStatus();
  }

  void Release() {
    absl::MutexLock lock(&mutex_);
    released_ = true;
  }
  int running() {
    absl::MutexLock lock(&mutex_);
    return running_;
  }
  int max_running() {
    absl::MutexLock lock(&mutex_);
    return max_running_;
  }
  bool saw_cancel() {
    absl::MutexLock lock(&mutex_);
    return saw_cancel_;
  }

 private:
  absl::Mutex mutex_;
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
  int max_running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool released_ ABSL_GUARDED_BY(mutex_) = false;
  bool saw_cancel_ ABSL_GUARDED_BY(mutex_) = false;
};

class GrpcServerTest : public ::testing::Test {
 protected:
  void Start(int workers, int max_queued_calls = 1024, int64_t max_queued_bytes = 256 << 20) {
    absl::StatusOr<std::unique_ptr<GrpcServer>> server =
        GrpcServer::Start(&handler_, {.workers = workers,
                                      .max_queued_calls = max_queued_calls,
                                      .max_queued_bytes = max_queued_bytes});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  std::unique_ptr<InteropStub> NewStub() {
    return std::make_unique<InteropStub>(std::make_shared<GrpcChannel>(
        CreateGrpcChannel(absl::StrCat("127.0.0.1:", server_->port()))));
  }
  static Text TextOf(std::string text) {
    Text message;
    message.set_text(std::move(text));
    return message;
  }

  BlockingHandler handler_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(GrpcServerTest, ABlockedHandlerHoldsUpNoOtherCall) {
  Start(/*workers=*/2);
  std::unique_ptr<InteropStub> blocked = NewStub();
  std::thread caller([&] { EXPECT_TRUE(blocked->Echo(TextOf("block")).ok()); });
  ASSERT_TRUE(Eventually([&] { return handler_.running() == 1; }));
  EXPECT_TRUE(NewStub()->Echo(TextOf("quick")).ok());
  handler_.Release();
  caller.join();
}

TEST_F(GrpcServerTest, ABlockedHandlerSeesItsCallCancelled) {
  Start(/*workers=*/1);
  std::unique_ptr<InteropStub> stub = NewStub();
  ClientContext context;
  std::thread canceller([&] {
    ASSERT_TRUE(Eventually([&] { return handler_.running() == 1; }));
    context.TryCancel();
  });
  Text response;
  EXPECT_TRUE(absl::IsCancelled(stub->Echo(TextOf("block"), &response, &context)));
  canceller.join();
  EXPECT_TRUE(Eventually([&] { return handler_.saw_cancel(); }));
}

TEST_F(GrpcServerTest, CallsBeyondTheWorkersWaitTheirTurn) {
  Start(/*workers=*/1);
  std::unique_ptr<InteropStub> blocked = NewStub();
  std::thread first([&] { EXPECT_TRUE(blocked->Echo(TextOf("block")).ok()); });
  ASSERT_TRUE(Eventually([&] { return handler_.running() == 1; }));
  absl::Notification second_done;
  std::unique_ptr<InteropStub> waiting = NewStub();
  std::thread second([&] {
    EXPECT_TRUE(waiting->Echo(TextOf("quick")).ok());
    second_done.Notify();
  });
  EXPECT_FALSE(second_done.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  handler_.Release();
  EXPECT_TRUE(second_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  first.join();
  second.join();
  EXPECT_EQ(handler_.max_running(), 1);
}

TEST_F(GrpcServerTest, ACallBeyondTheQueueIsRefusedAtOnce) {
  Start(/*workers=*/1, /*max_queued_calls=*/1);
  std::unique_ptr<InteropStub> blocked = NewStub();
  std::thread first([&] { EXPECT_TRUE(blocked->Echo(TextOf("block")).ok()); });
  ASSERT_TRUE(Eventually([&] { return handler_.running() == 1; }));
  // Two more while the worker is held: one waits its turn, the other is refused.
  absl::Mutex mutex;
  std::vector<absl::Status> outcomes;
  auto call = [&] {
    absl::Status status = NewStub()->Echo(TextOf("quick")).status();
    absl::MutexLock lock(&mutex);
    outcomes.push_back(std::move(status));
  };
  std::thread second(call), third(call);
  {
    absl::MutexLock lock(&mutex);
    // Only the refused call can end while the worker is held.
    mutex.Await(absl::Condition(
        +[](std::vector<absl::Status>* v) { return !v->empty(); }, &outcomes));
    EXPECT_TRUE(absl::IsResourceExhausted(outcomes[0])) << outcomes[0];
    EXPECT_NE(outcomes[0].message().find("max_queued_calls"), std::string::npos);
  }
  handler_.Release();
  second.join();
  third.join();
  first.join();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[1].ok()) << outcomes[1];
  EXPECT_EQ(handler_.max_running(), 1);
}

TEST_F(GrpcServerTest, ACallWhoseRequestWouldPassTheQueuedBytesIsRefusedAtOnce) {
  Start(/*workers=*/1, /*max_queued_calls=*/1024, /*max_queued_bytes=*/100 << 10);
  std::unique_ptr<InteropStub> blocked = NewStub();
  std::thread first([&] { EXPECT_TRUE(blocked->Echo(TextOf("block")).ok()); });
  ASSERT_TRUE(Eventually([&] { return handler_.running() == 1; }));
  // Two of 60 KiB while the worker is held: one waits its turn, the other would make the
  // queue hold 120 KiB and is refused.
  absl::Mutex mutex;
  std::vector<absl::Status> outcomes;
  auto call = [&] {
    absl::Status status = NewStub()->Echo(TextOf(std::string(60 << 10, 'q'))).status();
    absl::MutexLock lock(&mutex);
    outcomes.push_back(std::move(status));
  };
  std::thread second(call), third(call);
  {
    absl::MutexLock lock(&mutex);
    // Only a refused call can end while the worker is held.
    const bool refused = mutex.AwaitWithTimeout(
        absl::Condition(
            +[](std::vector<absl::Status>* v) { return !v->empty(); }, &outcomes),
        absl::Seconds(10));
    EXPECT_TRUE(refused) << "both calls were queued";
    if (refused) {
      EXPECT_TRUE(absl::IsResourceExhausted(outcomes[0])) << outcomes[0];
      EXPECT_NE(outcomes[0].message().find("max_queued_bytes"), std::string::npos) << outcomes[0];
    }
  }
  handler_.Release();
  second.join();
  third.join();
  first.join();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[1].ok()) << outcomes[1];
}

TEST_F(GrpcServerTest, ShutdownCancelsABlockedHandlerAndReturns) {
  Start(/*workers=*/2);
  std::unique_ptr<InteropStub> stub = NewStub();
  std::thread caller([&] { EXPECT_FALSE(stub->Echo(TextOf("block")).ok()); });
  ASSERT_TRUE(Eventually([&] { return handler_.running() == 1; }));
  server_->Shutdown(absl::ZeroDuration());
  EXPECT_TRUE(handler_.saw_cancel());
  EXPECT_EQ(handler_.running(), 0);
  caller.join();
}

}  // namespace
}  // namespace syslink::rpc
