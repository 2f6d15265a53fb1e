// Interceptor chains on both sides of a real link: their order, a refusal, a changed
// outcome, metadata they add, async calls and streams, and the logging interceptor.

#include "rpc/interceptor.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/logging_interceptor.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/countdown_streamer.h"
#include "rpc/testdata/stream_service.syslink.h"
#include "rpc/testdata/test_service.pb.h"

namespace syslink::rpc {
namespace {

using ::syslink::rpc::test::Number;
using ::syslink::rpc::test::Text;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Pair;

constexpr Method kEcho{MethodIdOfPath("/syslink.rpc.test.Icpt/Echo"), "/syslink.rpc.test.Icpt/Echo",
                       MethodKind::kUnary};
constexpr Method kMethods[] = {kEcho};

// Echo answers with its request and the caller's "x-token", and counts its calls.
class EchoService : public Service {
 public:
  std::atomic<int> calls{0};
  absl::string_view service_name() const override { return "syslink.rpc.test.Icpt"; }
  std::span<const Method> methods() const override { return kMethods; }
  absl::Status Dispatch(ServerCall& call) override {
    if (call.method_id() != kEcho.id) return absl::UnimplementedError("no such method");
    ++calls;
    Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    auto token = call.context().client_metadata().find("x-token");
    request.set_blob(token == call.context().client_metadata().end() ? "" : token->second);
    call.SetResponse(request);
    return absl::OkStatus();
  }
};

// Records its hooks in a shared log, as "<name>.before" and "<name>.after <code>".
class Recorder : public ClientInterceptor, public ServerInterceptor {
 public:
  Recorder(std::string name, std::vector<std::string>* log, std::mutex* mutex)
      : name_(std::move(name)), log_(log), mutex_(mutex) {}
  absl::Status refuse;           // what BeforeCall answers
  absl::Status replace_with_ok;  // AfterCall turns an OK into this, when set
  absl::Status BeforeCall(const CallInfo& call, ClientContext& context) override {
    Note(".before");
    context.AddMetadata("x-token", name_);
    return refuse;
  }
  void AfterCall(const CallInfo& call, ClientContext&, absl::Status& status) override {
    Note(absl::StrCat(".after ", absl::StatusCodeToString(status.code())));
  }
  absl::Status BeforeCall(const CallInfo& call, ServerContext& context) override {
    Note(absl::StrCat(".before ", call.method.path));
    return refuse;
  }
  void AfterCall(const CallInfo& call, ServerContext& context, absl::Status& status) override {
    Note(absl::StrCat(".after ", absl::StatusCodeToString(status.code())));
    context.AddTrailingMetadata("x-seen-by", name_);
    if (status.ok() && !replace_with_ok.ok()) status = replace_with_ok;
  }

 private:
  void Note(const std::string& what) {
    std::lock_guard<std::mutex> lock(*mutex_);
    log_->push_back(name_ + what);
  }
  std::string name_;
  std::vector<std::string>* log_;
  std::mutex* mutex_;
};

class InterceptorTest : public ::testing::Test {
 protected:
  void Serve(ServerOptions options) {
    server_ = std::make_unique<Server>(std::move(options));
    absl::StatusOr<LinkPair> pair = Link::CreatePair();
    ASSERT_TRUE(pair.ok());
    server_->ServeLink(&service_, std::move(pair->second), {getpid(), getuid(), getgid()});
    link_channel_ = std::make_shared<LinkChannel>(std::move(pair->first));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(mutex_);
    return log_;
  }
  std::shared_ptr<Recorder> Make(std::string name) {
    return std::make_shared<Recorder>(std::move(name), &log_, &mutex_);
  }

  std::mutex mutex_;
  std::vector<std::string> log_;
  EchoService service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<LinkChannel> link_channel_;
};

TEST_F(InterceptorTest, ClientHooksNestAndWhatTheyAddReachesTheMethod) {
  Serve({});
  auto a = Make("a"), b = Make("b");
  std::shared_ptr<Channel> channel = InterceptChannel(link_channel_, {a, b});
  Text request, response;
  request.set_text("hi");
  ASSERT_TRUE(channel->Call(kEcho, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "hi");
  EXPECT_EQ(response.blob(), "a");  // the first of the two "x-token" values
  EXPECT_THAT(Log(), ElementsAre("a.before", "b.before", "b.after OK", "a.after OK"));
}

TEST_F(InterceptorTest, AClientRefusalEndsTheCallUnsent) {
  Serve({});
  auto a = Make("a"), b = Make("b"), c = Make("c");
  b->refuse = absl::PermissionDeniedError("no token");
  std::shared_ptr<Channel> channel = InterceptChannel(link_channel_, {a, b, c});
  Text request, response;
  EXPECT_EQ(channel->Call(kEcho, request, &response, nullptr),
            absl::PermissionDeniedError("no token"));
  EXPECT_EQ(service_.calls.load(), 0);
  EXPECT_THAT(Log(), ElementsAre("a.before", "b.before", "a.after PERMISSION_DENIED"));
}

TEST_F(InterceptorTest, AnAsyncCallsHooksEndBeforeItsCallback) {
  Serve({});
  auto a = Make("a");
  std::shared_ptr<Channel> channel = InterceptChannel(link_channel_, {a});
  Text request, response;
  std::mutex mutex;
  std::condition_variable done;
  std::optional<std::vector<std::string>> seen;
  channel->CallAsync(kEcho, request, &response, nullptr, [&](absl::Status status) {
    std::vector<std::string> log = Log();
    std::lock_guard<std::mutex> lock(mutex);
    log.push_back(absl::StrCat("done ", absl::StatusCodeToString(status.code())));
    seen = log;
    done.notify_all();
  });
  std::unique_lock<std::mutex> lock(mutex);
  ASSERT_TRUE(done.wait_for(lock, std::chrono::seconds(10), [&] { return seen.has_value(); }));
  EXPECT_THAT(*seen, ElementsAre("a.before", "a.after OK", "done OK"));
}

TEST_F(InterceptorTest, ServerHooksNestRefuseAndChangeTheAnswer) {
  auto a = Make("a"), b = Make("b");
  Serve(ServerOptions{.interceptors = {a, b}});
  Text request, response;
  ClientContext context;
  ASSERT_TRUE(link_channel_->Call(kEcho, request, &response, &context).ok());
  EXPECT_THAT(Log(),
              ElementsAre("a.before /syslink.rpc.test.Icpt/Echo",
                          "b.before /syslink.rpc.test.Icpt/Echo", "b.after OK", "a.after OK"));
  // Trailing metadata added after the method returned goes with the answer.
  EXPECT_THAT(context.GetServerTrailingMetadata(),
              ElementsAre(Pair("x-seen-by", "b"), Pair("x-seen-by", "a")));

  // An error set after the method ran replaces its response.
  b->replace_with_ok = absl::DataLossError("checksum");
  response.Clear();
  EXPECT_EQ(link_channel_->Call(kEcho, request, &response, nullptr),
            absl::DataLossError("checksum"));
  // A refusal: the method does not run.
  b->refuse = absl::UnauthenticatedError("who are you?");
  const int calls = service_.calls.load();
  EXPECT_EQ(link_channel_->Call(kEcho, request, &response, nullptr),
            absl::UnauthenticatedError("who are you?"));
  EXPECT_EQ(service_.calls.load(), calls);
}

TEST_F(InterceptorTest, AServerWithWorkersInterceptsToo) {
  auto a = Make("a");
  Serve(ServerOptions{.workers = 2, .interceptors = {a}});
  Text request, response;
  request.set_text("via a worker");
  ASSERT_TRUE(link_channel_->Call(kEcho, request, &response, nullptr).ok());
  EXPECT_EQ(response.text(), "via a worker");
  EXPECT_THAT(Log(), ElementsAre("a.before /syslink.rpc.test.Icpt/Echo", "a.after OK"));
}

// A stream's hooks: AfterCall at Finish(), or CANCELLED when it is dropped before.
TEST_F(InterceptorTest, AStreamsHooksSeeItsEnd) {
  test::CountdownStreamer streamer;
  auto server_side = Make("s");
  Server server(ServerOptions{.interceptors = {server_side}});
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  ASSERT_TRUE(pair.ok());
  server.ServeLink(&streamer, std::move(pair->second));
  auto client_side = Make("c");
  test::StreamerStub stub(
      InterceptChannel(std::make_shared<LinkChannel>(std::move(pair->first)), {client_side}));
  Number request, number;
  request.set_n(3);
  {
    auto reader = stub.Countdown(request);
    int read = 0;
    while (reader->Read(&number)) ++read;
    EXPECT_EQ(read, 3);
    EXPECT_TRUE(reader->Finish().ok());
  }
  EXPECT_THAT(Log(), ElementsAre("c.before", "s.before /syslink.rpc.test.Streamer/Countdown",
                                 "s.after OK", "c.after OK"));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.clear();
  }
  request.set_n(1000000);
  {
    auto reader = stub.Countdown(request);
    ASSERT_TRUE(reader->Read(&number));
  }  // dropped before Finish()
  EXPECT_THAT(Log(), ::testing::Contains("c.after CANCELLED"));
  server.Shutdown();
}

TEST_F(InterceptorTest, TheLoggerNamesMethodStatusAndLatency) {
  std::vector<std::string> lines;
  std::mutex mutex;
  auto logger = std::make_shared<LoggingInterceptor>([&](absl::string_view line) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.emplace_back(line);
  });
  Serve(ServerOptions{.interceptors = {logger}});
  std::shared_ptr<Channel> channel = InterceptChannel(link_channel_, {logger});
  Text request, response;
  ASSERT_TRUE(channel->Call(kEcho, request, &response, nullptr).ok());
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0],
              MatchesRegex(R"(rpc server /syslink\.rpc\.test\.Icpt/Echo OK [0-9.]+(ns|us|ms|s))"));
  EXPECT_THAT(lines[1],
              MatchesRegex(R"(rpc client /syslink\.rpc\.test\.Icpt/Echo OK [0-9.]+(ns|us|ms|s))"));
}

}  // namespace
}  // namespace syslink::rpc
