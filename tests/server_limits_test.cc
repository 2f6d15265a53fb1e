// A server process at its limit of links, through a real broker: the link it cannot serve
// is refused before the client gets it (RESOURCE_EXHAUSTED naming the service), never
// handed out to fail on its first call, and the links it holds go on answering.

#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/broker/client.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::rpc {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::ScratchDirectory;
using ::testing::HasSubstr;

constexpr char kService[] = "syslink.test.Limited";
constexpr Method kEcho{MethodId("syslink.test.Limited.Echo"), "/syslink.test.Limited/Echo",
                       MethodKind::kUnary};

class EchoService : public Service {
 public:
  absl::string_view service_name() const override { return kService; }
  absl::Status Dispatch(ServerCall& call) override {
    test::Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    call.SetResponse(request);
    return absl::OkStatus();
  }
};

LinkOptions SmallLinks() {
  LinkOptions options;
  options.ring_capacity = 16 * 1024;
  options.arena_size = 64 * 1024;
  options.max_dma_size = 64 * 1024;
  return options;
}

// A server process serving kService with `server_options`, after lowering its descriptor
// limit to `descriptors` (0: unchanged). Writes a byte to `ready` once registered.
ChildProcess StartServer(const broker::BrokerConnectOptions& broker, ServerOptions server_options,
                         rlim_t descriptors, int ready) {
  return ChildProcess::Fork([=] {
    if (descriptors > 0) {
      struct rlimit limit = {descriptors, descriptors};
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return 1;
    }
    EchoService service;
    Server server(server_options);
    if (!server.ServeBroker(&service, {.name = kService, .link = SmallLinks(), .broker = broker})
             .ok()) {
      return 2;
    }
    char byte = 1;
    if (write(ready, &byte, 1) != 1) return 3;
    while (true) pause();
  });
}

absl::Status Echo(LinkChannel& channel) {
  test::Text request, response;
  request.set_text("ping");
  absl::Status status = channel.Call(kEcho, request, &response, nullptr);
  if (status.ok() && response.text() != "ping") return absl::InternalError("wrong answer");
  return status;
}

class ServerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_EQ(pipe(ready_), 0);
  }
  void TearDown() override {
    close(ready_[0]);
    close(ready_[1]);
  }
  void AwaitReady() {
    char byte;
    ASSERT_EQ(read(ready_[0], &byte, 1), 1);
  }
  absl::StatusOr<std::unique_ptr<LinkChannel>> Connect() {
    absl::StatusOr<Link> link = broker::ConnectToService(kService, broker_->ConnectOptions());
    if (!link.ok()) return link.status();
    return std::make_unique<LinkChannel>(*std::move(link));
  }

  ScratchDirectory dir_{"limits"};
  std::unique_ptr<BrokerProcess> broker_;
  int ready_[2] = {-1, -1};
};

TEST_F(ServerLimitsTest, ALinkPastMaxLinksIsRefusedBeforeTheClientGetsIt) {
  ChildProcess server = StartServer(broker_->ConnectOptions(), {.max_links = 2}, 0, ready_[1]);
  AwaitReady();
  std::vector<std::unique_ptr<LinkChannel>> channels;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<LinkChannel>> channel = Connect();
    ASSERT_TRUE(channel.ok()) << channel.status();
    channels.push_back(*std::move(channel));
  }
  absl::StatusOr<std::unique_ptr<LinkChannel>> refused = Connect();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr(kService));
  for (auto& channel : channels) EXPECT_TRUE(Echo(*channel).ok());
  // A link that closes frees its place at once.
  channels.pop_back();
  absl::StatusOr<std::unique_ptr<LinkChannel>> again;
  ASSERT_TRUE(Eventually([&] { return (again = Connect()).ok(); })) << again.status();
  EXPECT_TRUE(Echo(**again).ok());
}

// The case: a server under RLIMIT_NOFILE 1024 (here 256, to keep the test small;
// the hard limit too, so the server cannot raise it) takes what its descriptors allow and
// refuses the next link, instead of handing it out to die on its first call.
TEST_F(ServerLimitsTest, AServerShortOfDescriptorsRefusesWhatItCannotServe) {
  constexpr rlim_t kDescriptors = 256;
  ChildProcess server = StartServer(broker_->ConnectOptions(), {}, kDescriptors, ready_[1]);
  AwaitReady();
  std::vector<std::unique_ptr<LinkChannel>> channels;
  absl::Status refusal;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<std::unique_ptr<LinkChannel>> channel = Connect();
    if (!channel.ok()) {
      refusal = channel.status();
      break;
    }
    channels.push_back(*std::move(channel));
  }
  EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted) << refusal;
  EXPECT_THAT(refusal.message(), HasSubstr(kService));
  EXPECT_EQ(channels.size(), (kDescriptors - 64) / 3);
  // Every link the server took answers.
  for (auto& channel : channels) ASSERT_TRUE(Echo(*channel).ok());
}

}  // namespace
}  // namespace syslink::rpc
