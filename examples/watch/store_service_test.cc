// StoreService's methods in one process, each on a stream of the test's own (a
// rpc::ServerStream that records what the method writes): what Watch writes and in which
// order, when it drops its watcher (a failed Write, a caller that left with no change
// coming, the map stopping), and how PutMany reports a refused put. watch_process_test
// runs the same service between real processes.

#include "examples/watch/store_service.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/context.h"
#include "rpc/internal/server_context_access.h"
#include "rpc/stream.h"
#include "tests/support/eventually.h"

namespace syslink::examples::watch {
namespace {

using ::syslink::testing::Eventually;

// A server stream in memory: Read() hands out `incoming`, Write() records changes until
// RefuseWrites(). Thread-safe: the method writes on its own thread.
class RecordingStream final : public rpc::ServerStream {
 public:
  explicit RecordingStream(std::deque<PutRequest> incoming = {}) : incoming_(std::move(incoming)) {}

  bool Read(google::protobuf::MessageLite* message, rpc::Attachment*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (incoming_.empty()) return false;
    bool parsed = message->ParseFromString(incoming_.front().SerializeAsString());
    incoming_.pop_front();
    return parsed;
  }
  bool Write(const google::protobuf::MessageLite& message, rpc::Attachment) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (refuse_writes_) return false;
    Change change;
    if (!change.ParseFromString(message.SerializeAsString())) return false;
    written_.push_back(change);
    written_more_.notify_all();
    return true;
  }

  void RefuseWrites() {
    std::lock_guard<std::mutex> lock(mutex_);
    refuse_writes_ = true;
  }
  // What was written, once there are `count` messages (fewer after 10 s).
  std::vector<Change> WaitForWritten(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    written_more_.wait_for(lock, std::chrono::seconds(10),
                           [&] { return written_.size() >= count; });
    return written_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable written_more_;
  std::deque<PutRequest> incoming_;  // guarded by mutex_
  std::vector<Change> written_;      // guarded by mutex_
  bool refuse_writes_ = false;       // guarded by mutex_
};

// One Watch call running on a thread of its own, as the runtime runs it.
class RunningWatch {
 public:
  RunningWatch(StoreService& service, const std::string& prefix,
               absl::Time deadline = absl::InfiniteFuture())
      : context_(rpc::PeerIdentity{}, deadline) {
    WatchRequest request;
    request.set_prefix(prefix);
    thread_ = std::thread([this, &service, request] {
      rpc::ServerWriter<Change> writer(&stream_);
      absl::Status status = service.Watch(context_, request, &writer);
      std::lock_guard<std::mutex> lock(mutex_);
      status_ = status;
      returned_.notify_all();
    });
  }
  ~RunningWatch() {
    CallerLeaves();  // so that a test that failed early does not wait for ever
    thread_.join();
  }

  RecordingStream& stream() { return stream_; }
  // What a closed link tells the method: ServerContext::cancelled() turns true.
  void CallerLeaves() { rpc::internal::ServerContextAccess::MarkCancelled(context_); }
  // The method's status, once it returned (nullopt if it did not within 10 s).
  std::optional<absl::Status> Result() {
    std::unique_lock<std::mutex> lock(mutex_);
    returned_.wait_for(lock, std::chrono::seconds(10), [&] { return status_.has_value(); });
    return status_;
  }

 private:
  rpc::ServerContext context_;
  RecordingStream stream_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::optional<absl::Status> status_;  // guarded by mutex_
  std::thread thread_;
};

class StoreServiceTest : public ::testing::Test {
 protected:
  void Put(const std::string& key, const std::string& value) {
    PutRequest request;
    request.set_key(key);
    request.set_value(value);
    PutResponse response;
    rpc::ServerContext context(rpc::PeerIdentity{}, absl::InfiniteFuture());
    ASSERT_TRUE(service_.Put(context, request, &response).ok());
  }

  WatchableMap map_;
  StoreService service_{&map_};
};

TEST_F(StoreServiceTest, PutThenGetReturnsTheValueAndItsRevision) {
  Put("a", "1");
  Put("b", "2");
  rpc::ServerContext context(rpc::PeerIdentity{}, absl::InfiniteFuture());
  GetRequest request;
  request.set_key("b");
  GetResponse response;
  ASSERT_TRUE(service_.Get(context, request, &response).ok());
  EXPECT_EQ(response.value(), "2");
  EXPECT_EQ(response.revision(), 2);
  request.set_key("c");
  EXPECT_EQ(service_.Get(context, request, &response).code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreServiceTest, WatchWritesItsStartRevisionFirst) {
  Put("a/old", "x");
  RunningWatch watch(service_, "a/");
  std::vector<Change> written = watch.stream().WaitForWritten(1);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].key(), "");
  EXPECT_EQ(written[0].revision(), 1);
  map_.Stop();
  EXPECT_EQ(watch.Result()->code(), absl::StatusCode::kUnavailable);
}

TEST_F(StoreServiceTest, WatchWritesEachChangeUnderItsPrefixInOrder) {
  RunningWatch watch(service_, "a/");
  ASSERT_EQ(watch.stream().WaitForWritten(1).size(), 1u);  // subscribed
  Put("a/1", "x");
  Put("b/1", "y");
  Put("a/2", "z");
  std::vector<Change> written = watch.stream().WaitForWritten(3);
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[1].key(), "a/1");
  EXPECT_EQ(written[1].value(), "x");
  EXPECT_EQ(written[1].revision(), 1);
  EXPECT_EQ(written[2].key(), "a/2");
  EXPECT_EQ(written[2].revision(), 3);
  map_.Stop();
  EXPECT_TRUE(watch.Result().has_value());
}

TEST_F(StoreServiceTest, AWatcherWhoseWriteFailsIsDropped) {
  RunningWatch watch(service_, "");
  ASSERT_EQ(watch.stream().WaitForWritten(1).size(), 1u);
  watch.stream().RefuseWrites();  // the client no longer reads
  Put("k", "v");
  std::optional<absl::Status> result = watch.Result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kCancelled) << *result;
  EXPECT_EQ(map_.subscriptions(), 0u);
}

TEST_F(StoreServiceTest, AWatcherWhoseCallerLeftIsDroppedWithNoChangeComing) {
  RunningWatch watch(service_, "");
  ASSERT_EQ(watch.stream().WaitForWritten(1).size(), 1u);
  watch.CallerLeaves();
  std::optional<absl::Status> result = watch.Result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kCancelled) << *result;
  EXPECT_EQ(map_.subscriptions(), 0u);
}

TEST_F(StoreServiceTest, AWatchEndsAtItsCallersDeadline) {
  RunningWatch watch(service_, "", absl::Now() + absl::Milliseconds(50));
  std::optional<absl::Status> result = watch.Result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kCancelled) << *result;
}

TEST_F(StoreServiceTest, StoppingTheMapEndsEveryWatchWithUnavailable) {
  RunningWatch first(service_, "a");
  RunningWatch second(service_, "b");
  ASSERT_TRUE(Eventually([&] { return map_.subscriptions() == 2; }));
  map_.Stop();
  EXPECT_EQ(first.Result()->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.Result()->code(), absl::StatusCode::kUnavailable);
}

std::deque<PutRequest> Puts(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::deque<PutRequest> puts;
  for (const auto& [key, value] : pairs) {
    puts.emplace_back().set_key(key);
    puts.back().set_value(value);
  }
  return puts;
}

TEST_F(StoreServiceTest, PutManyStoresEachAndSummarizes) {
  RecordingStream stream(Puts({{"a", "1"}, {"b", "2"}, {"a", "3"}}));
  rpc::ServerReader<PutRequest> reader(&stream);
  rpc::ServerContext context(rpc::PeerIdentity{}, absl::InfiniteFuture());
  PutManySummary summary;
  ASSERT_TRUE(service_.PutMany(context, &reader, &summary).ok());
  EXPECT_EQ(summary.puts(), 3);
  EXPECT_EQ(summary.revision(), 3);
  EXPECT_EQ(map_.Get("a")->value(), "3");
}

TEST_F(StoreServiceTest, PutManyEndsAtTheFirstRefusedPutAndNamesIt) {
  RecordingStream stream(Puts({{"a", "1"}, {"", "2"}, {"c", "3"}}));
  rpc::ServerReader<PutRequest> reader(&stream);
  rpc::ServerContext context(rpc::PeerIdentity{}, absl::InfiniteFuture());
  PutManySummary summary;
  absl::Status status = service_.PutMany(context, &reader, &summary);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().substr(0, 7), "put 2: ") << status;
  EXPECT_TRUE(map_.Get("a").ok());  // the puts before it stay
  EXPECT_FALSE(map_.Get("c").ok());
}

}  // namespace
}  // namespace syslink::examples::watch
