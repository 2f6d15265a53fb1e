// A server's admission (ServiceRegistration::set_admission) with real processes: the
// server decides on each link before its client gets its end. A refusal reaches the
// client's ConnectToService with the server's status while the server keeps accepting; an
// admitted link works as links always did; a server that dies while it decides leaves its
// client UNAVAILABLE at once, not after the broker's accept timeout.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/other_user.h"
#include "tests/support/process_event.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ForkTied;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::Shared;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kPatience = absl::Seconds(10);

absl::Time Soon() { return absl::Now() + kPatience; }

struct ServerReport {
  std::atomic<int> offers{0};  // times the admission ran
};

// Echoes one request on `link`.
bool EchoOne(Link& link) {
  absl::StatusOr<Message> request = link.Receive(Soon());
  return request.ok() && link.Reply(request->id, absl::OkStatus(), request->data).ok();
}

// One call on `link`: whether the echo came back.
bool CallEcho(Link& link) {
  absl::StatusOr<Message> reply = link.Call(1, AsBytes("admitted"), {}, Soon());
  return reply.ok() && reply->status.ok() && reply->DataAsString() == "admitted";
}

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    options_ = broker_->ConnectOptions();
  }
  void TearDown() override {
    if (broker_ != nullptr) EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
  }

  // A server process for `name` whose admission is `admit` (none if null); it serves one
  // admitted link (one echo) and exits 0. Returns once the service is registered.
  ChildProcess ForkServer(const std::string& name, std::function<absl::Status()> admit) {
    ProcessEvent registered;
    ChildProcess server = ForkTied([&, this] {
      absl::StatusOr<ServiceRegistration> service =
          ServiceRegistration::Register(name, AccessPolicy::SameUser(), {}, options_);
      if (!service.ok()) return 1;
      if (admit) service->set_admission(admit);
      registered.Notify();
      absl::StatusOr<IncomingLink> incoming = service->Accept(Soon());
      if (!incoming.ok()) return 2;
      return EchoOne(incoming->link) ? 0 : 3;
    });
    EXPECT_TRUE(registered.WaitFor(kPatience)) << "the server did not register " << name;
    return server;
  }

  ScratchDirectory dir_{"admit"};
  std::unique_ptr<BrokerProcess> broker_;
  BrokerConnectOptions options_;
};

TEST_F(AdmissionTest, RefusalReachesTheClientAndTheServerKeepsAccepting) {
  Shared<ServerReport> report;
  ServerReport* r = &*report;
  ChildProcess server = ForkServer("test.picky", [r] {
    // The first client is refused, the next one admitted.
    if (r->offers.fetch_add(1) == 0) {
      return absl::ResourceExhaustedError("serves its limit of links; try again later");
    }
    return absl::OkStatus();
  });

  absl::StatusOr<Link> refused = ConnectToService("test.picky", options_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("\"test.picky\""), HasSubstr("serves its limit of links")));

  absl::StatusOr<Link> admitted = ConnectToService("test.picky", options_);
  ASSERT_TRUE(admitted.ok()) << admitted.status();
  EXPECT_TRUE(CallEcho(*admitted));
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(0));
  EXPECT_EQ(report->offers.load(), 2);

  absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath());
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->counters.refused_by_servers, 1u);
  EXPECT_EQ(listing->counters.links_made, 1u);
}

// A refusal whose message already names the service is passed on as it is.
TEST_F(AdmissionTest, RefusalNamingTheServiceIsNotPrefixedAgain) {
  Shared<ServerReport> report;
  ServerReport* r = &*report;
  ChildProcess server = ForkServer("test.named", [r] {
    if (r->offers.fetch_add(1) == 0) {
      return absl::PermissionDeniedError("\"test.named\" takes no links today");
    }
    return absl::OkStatus();
  });
  absl::StatusOr<Link> refused = ConnectToService("test.named", options_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "\"test.named\" takes no links today");
  absl::StatusOr<Link> admitted = ConnectToService("test.named", options_);  // lets it exit
  ASSERT_TRUE(admitted.ok()) << admitted.status();
  EXPECT_TRUE(CallEcho(*admitted));
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(0));
}

TEST_F(AdmissionTest, AdmittedLinkWorksAndNamesItsServer) {
  ChildProcess server = ForkServer("test.open", nullptr);
  absl::StatusOr<OutgoingLink> link = ConnectToServiceIdentified("test.open", options_);
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->server.pid, server.pid());  // attested by the kernel
  EXPECT_EQ(link->server.uid, geteuid());
  EXPECT_TRUE(CallEcho(link->link));
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(0));
}

TEST_F(AdmissionTest, ServerKilledWhileDecidingLeavesItsClientUnavailableAtOnce) {
  ProcessEvent deciding;
  ChildProcess server = ForkServer("test.doomed", [&deciding] {
    deciding.Notify();
    pause();  // killed here, between the broker's offer and its verdict
    return absl::OkStatus();
  });
  std::future<absl::Status> client = std::async(std::launch::async, [&] {
    return ConnectToService("test.doomed", options_).status();
  });
  ASSERT_TRUE(deciding.WaitFor(kPatience));
  absl::Time killed = absl::Now();
  server.Kill(SIGKILL);
  absl::Status status = client.get();
  absl::Duration waited = absl::Now() - killed;
  server.Wait();
  RecordProperty("unavailable_after_kill_us", absl::StrCat(absl::ToInt64Microseconds(waited)));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("\"test.doomed\""), HasSubstr("went away before it admitted"),
                    Not(HasSubstr("within"))));
  // The broker's accept timeout is 5 s; the server's death is seen at once.
  EXPECT_LT(waited, absl::Seconds(2));
}

}  // namespace
}  // namespace syslink::broker
