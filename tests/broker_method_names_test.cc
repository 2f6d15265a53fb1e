// Names, not numbers: a server registers its methods' names with the broker, and the
// listing and syslinkctl show a request still waiting as package.Service/Method (a command
// no name covers still as its number). A real rpc::Server in a process of its own sends
// them; hostile tables are refused in broker_malformed_message_test.cc.

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/service.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/broker/client.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"
#include "tests/support/process_event.h"

namespace syslink::rpc {
namespace {

using ::syslink::broker::ConnectToService;
using ::syslink::broker::Listing;
using ::syslink::broker::PendingRequestListing;
using ::syslink::broker::ServiceRegistration;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkTied;
using ::syslink::testing::kPatience;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ScratchDirectory;
using ::testing::HasSubstr;

constexpr char kService[] = "syslink.test.Waiter";
constexpr Method kHold{MethodId("syslink.test.Waiter.Hold"), "/syslink.test.Waiter/Hold",
                       MethodKind::kUnary};
constexpr Method kMethods[] = {kHold};

// Hold answers with its request once a byte can be read from `release`.
class WaiterService : public Service {
 public:
  explicit WaiterService(int release) : release_(release) {}
  absl::string_view service_name() const override { return kService; }
  std::span<const Method> methods() const override { return kMethods; }
  absl::Status Dispatch(ServerCall& call) override {
    if (call.method_id() != kHold.id) return absl::UnimplementedError("no such method");
    test::Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    char byte;
    if (read(release_, &byte, 1) != 1) return absl::InternalError("the release pipe closed");
    call.SetResponse(request);
    return absl::OkStatus();
  }

 private:
  int release_;
};

// What syslinkctl prints for the broker at `socket_path` with `args`, and how it ended if
// that was not "exited 0".
std::string Syslinkctl(const std::string& socket_path, std::vector<std::string> args = {}) {
  syslink::testing::SyslinkctlOutput shown = syslink::testing::RunSyslinkctl(socket_path, args);
  if (shown.ended != ChildProcess::Exited(0)) shown.printed += "\n(syslinkctl " + shown.ended + ")";
  return shown.printed;
}

// The requests the client ends of the broker's links wait on, once there are `count`.
std::vector<PendingRequestListing> AwaitPending(const std::string& socket_path, size_t count) {
  std::vector<PendingRequestListing> pending;
  Eventually([&] {
    pending.clear();
    absl::StatusOr<Listing> listing = ListBrokerAt(socket_path);
    if (!listing.ok()) return false;
    for (const auto& link : listing->links) {
      pending.insert(pending.end(), link.pending[0].begin(), link.pending[0].end());
    }
    return pending.size() >= count;
  });
  return pending;
}

TEST(MethodNamesTest, SyslinkctlShowsACallWaitingInARealServerByItsName) {
  ScratchDirectory dir("names");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  const broker::BrokerConnectOptions options = (*broker)->ConnectOptions();
  int release[2];
  ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
  UniqueFd release_read(release[0]), release_write(release[1]);
  ProcessEvent registered;
  ChildProcess server = ForkTied([&] {
    WaiterService service(release_read.get());
    Server server;
    if (!server.ServeBroker(&service, {.name = kService, .broker = options}).ok()) {
      return 1;
    }
    registered.Notify();
    server.Wait();
    return 0;
  });
  ASSERT_TRUE(registered.WaitFor(kPatience));
  absl::StatusOr<Link> link = ConnectToService(kService, options);
  ASSERT_TRUE(link.ok()) << link.status();
  LinkChannel channel(*std::move(link));
  absl::Status held;
  std::thread caller([&] {
    test::Text request, response;
    request.set_text("waiting");
    held = channel.Call(kHold, request, &response, nullptr);
  });

  std::vector<PendingRequestListing> pending = AwaitPending(dir.SocketPath(), 1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].command, kHold.id);
  EXPECT_EQ(pending[0].method, "syslink.test.Waiter/Hold");
  EXPECT_THAT(Syslinkctl(dir.SocketPath()),
              HasSubstr(absl::StrCat("client request ", pending[0].id,
                                     ": syslink.test.Waiter/Hold, waiting")));
  EXPECT_THAT(Syslinkctl(dir.SocketPath(), {"--json"}),
              HasSubstr(absl::StrCat("\"command\": ", kHold.id,
                                     ", \"method\": \"syslink.test.Waiter/Hold\"")));

  ASSERT_EQ(write(release_write.get(), "x", 1), 1);
  caller.join();
  EXPECT_TRUE(held.ok()) << held;
}

// Only the commands the table names get a name; a link keeps its service's table after
// the service is gone, for the requests still waiting on it.
TEST(MethodNamesTest, NamesLabelOnlyTheirCommandsAndOutliveTheRegistration) {
  ScratchDirectory dir("namesleft");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  const broker::BrokerConnectOptions options = (*broker)->ConnectOptions();
  std::optional<absl::StatusOr<ServiceRegistration>> service = ServiceRegistration::Register(
      {.name = "test.named", .methods = {{5, "test.Named/Known"}}}, options);
  ASSERT_TRUE(service->ok()) << service->status();
  ConnectedPair pair = ConnectAndAccept(**service, "test.named", options);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status();
  ASSERT_TRUE(pair.client->link.Send(5, {}).ok());
  ASSERT_TRUE(pair.client->link.Send(6, {}).ok());
  service.reset();

  std::vector<PendingRequestListing> pending = AwaitPending(dir.SocketPath(), 2);
  ASSERT_EQ(pending.size(), 2u);
  for (const PendingRequestListing& p : pending) {
    EXPECT_EQ(p.method, p.command == 5 ? "test.Named/Known" : "") << "command " << p.command;
  }
  std::string shown = Syslinkctl(dir.SocketPath());
  EXPECT_THAT(shown, HasSubstr(": test.Named/Known, waiting"));
  EXPECT_THAT(shown, HasSubstr(": command 6, waiting"));
}

TEST(MethodNamesTest, RegisterRefusesABadTableBeforeSendingIt) {
  ScratchDirectory dir("namesbad");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  absl::StatusOr<ServiceRegistration> service = ServiceRegistration::Register(
      {.name = "test.bad", .methods = {{5, "not a method"}}}, (*broker)->ConnectOptions());
  ASSERT_FALSE(service.ok());
  EXPECT_EQ(service.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(service.status().message(),
              HasSubstr("service \"test.bad\": method table entry 0: \"not a method\" is not a "
                        "method name"));
  absl::StatusOr<Listing> listing = ListBrokerAt(dir.SocketPath());
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->counters.malformed, 0u) << "the table reached the broker";
}

}  // namespace
}  // namespace syslink::rpc
