// A stream method's Read() and Write() never run another call of their link on the method's
// own thread, though answering the client's message may find the link's session parked:
// the method may hold a lock there that a unary method of the link takes. Here the server
// has one thread to serve links, kept busy on another link, while a unary call waits in the
// stream's link as the stream's method reads holding the lock that call takes.

#include <atomic>
#include <cstdlib>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/testdata/countdown_streamer.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "syslink/link.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;
using test::Number;
using test::Progress;
using test::Total;

// Add, once started, waits for `go`, then reads one message holding `lock`; GetProgress
// takes `lock`; Release holds the thread that serves it until `open`.
class LockingStreamer : public test::CountdownStreamer {
 public:
  absl::Mutex lock;
  absl::Notification go;
  std::atomic<bool> started{false};
  std::atomic<bool> read{false};
  std::atomic<int> releasing{0};
  std::atomic<bool> open{false};

  absl::Status Add(ServerContext&, ServerReader<Number>* reader, Total* response) override {
    started.store(true);
    go.WaitForNotification();
    absl::MutexLock held(&lock);
    Number number;
    if (!reader->Read(&number)) return absl::DataLossError("no message");
    response->set_sum(number.n());
    read.store(true);
    return absl::OkStatus();
  }
  absl::Status GetProgress(ServerContext&, const Number&, Progress*) override {
    absl::MutexLock held(&lock);
    return absl::OkStatus();
  }
  absl::Status Release(ServerContext&, const Number&, Number*) override {
    ++releasing;
    Eventually([this] { return open.load(); }, absl::Seconds(60));
    return absl::OkStatus();
  }
};

TEST(StreamMethodThreadTest, AReadRunsNoOtherCallOfTheLinkOnTheMethodsThread) {
  LockingStreamer service;
  Server server(ServerOptions{.max_threads = 1, .follow_caller = absl::ZeroDuration()});
  auto connect = [&] {
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    EXPECT_TRUE(pair.ok()) << pair.status();
    server.ServeLink(&service, std::move(pair->second), {getpid(), getuid(), getgid()});
    return std::make_shared<LinkChannel>(std::move(pair->first));
  };
  std::shared_ptr<LinkChannel> streams = connect();
  std::shared_ptr<LinkChannel> other = connect();
  test::StreamerStub stream_stub(streams);
  test::StreamerStub other_stub(other);
  Total total;
  auto writer = stream_stub.Add(&total);
  ASSERT_TRUE(Eventually([&] { return service.started.load(); }));
  Number seven;
  seven.set_n(7);
  ASSERT_TRUE(writer->Write(seven));
  // A call of the same link, answered after the server has taken the message above.
  Number nothing;
  Progress progress;
  ASSERT_TRUE(stream_stub.GetProgress(nothing, &progress, nullptr).ok());
  // The server's one thread, held on the other link.
  Number released;
  absl::Notification release_done;
  other_stub.ReleaseAsync(nothing, &released, nullptr,
                          [&](absl::Status) { release_done.Notify(); });
  ASSERT_TRUE(Eventually([&] { return service.releasing.load() == 1; }));
  // A unary call waits in the stream's link, with no thread free to serve it.
  absl::Notification progress_done;
  absl::Status progress_status;
  stream_stub.GetProgressAsync(nothing, &progress, nullptr, [&](absl::Status s) {
    progress_status = s;
    progress_done.Notify();
  });
  service.go.Notify();
  // Served on the method's thread, the waiting GetProgress would wait there for the lock
  // that thread holds: the method would never read on.
  const bool read = Eventually([&] { return service.read.load(); });
  EXPECT_TRUE(read) << "the stream method's Read() ran the waiting call on its own thread";
  service.open.store(true);
  if (!read) std::quick_exit(1);  // that thread holds the lock for good: nothing can end
  ASSERT_TRUE(release_done.WaitForNotificationWithTimeout(kPatience));
  ASSERT_TRUE(progress_done.WaitForNotificationWithTimeout(kPatience));
  EXPECT_TRUE(progress_status.ok()) << progress_status;
  writer->WritesDone();
  EXPECT_TRUE(writer->Finish().ok());
  EXPECT_EQ(total.sum(), 7);
  server.Shutdown();
}

}  // namespace
}  // namespace syslink::rpc
