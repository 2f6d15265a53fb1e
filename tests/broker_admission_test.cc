// A server's admission (ServiceRegistration::set_admission) with real processes: the
// server decides on each link before its client gets its end. A refusal reaches the
// client's ConnectToService with the server's status while the server keeps accepting; an
// admitted link works as links always did; a server that dies while it decides leaves its
// client UNAVAILABLE at once, not after the broker's accept timeout. Servers that answer
// no offer: one that is slow leaves its client UNAVAILABLE after the accept timeout, one
// that is stopped (SIGSTOP) is dropped once its connection is full, and its clients are
// told why in words.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"
#include "tests/support/process_event.h"

namespace syslink::broker {
namespace {

using ::syslink::broker::internal::ControlPacket;
using ::syslink::broker::internal::ReceiveControl;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::DialRaw;
using ::syslink::testing::ForkTied;
using ::syslink::testing::kPatience;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::SendRaw;
using ::syslink::testing::Shared;
using ::syslink::testing::Soon;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

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
  virtual std::vector<std::string> BrokerArgs() const { return {}; }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), BrokerArgs());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    options_ = broker_->ConnectOptions();
  }
  void TearDown() override {
    probe_.reset();
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
    }
  }

  // A client of test.probe (served here) gets its link and a request crosses it.
  void ExpectServed() {
    if (!probe_) {
      absl::StatusOr<ServiceRegistration> probe =
          ServiceRegistration::Register("test.probe", AccessPolicy::SameUser(), {}, options_);
      ASSERT_TRUE(probe.ok()) << probe.status();
      probe_.emplace(*std::move(probe));
    }
    ConnectedPair pair = ConnectAndAccept(*probe_, "test.probe", options_);
    ASSERT_TRUE(pair.client.ok()) << pair.client.status();
    ASSERT_TRUE(pair.server.ok()) << pair.server.status();
    ASSERT_TRUE(pair.client->link.Send(1, AsBytes("ping")).ok());
    absl::StatusOr<Message> request = pair.server->link.Receive(Soon());
    ASSERT_TRUE(request.ok()) << request.status();
  }

  Listing List() {
    absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath());
    EXPECT_TRUE(listing.ok()) << listing.status();
    return listing.ok() ? *std::move(listing) : Listing{};
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
  std::optional<ServiceRegistration> probe_;
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
  std::future<absl::Status> client = std::async(
      std::launch::async, [&] { return ConnectToService("test.doomed", options_).status(); });
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

// ---- Servers that answer no offer. ---------------------------------------------------------

// A server that registered and then answers no offer: its clients wait for its verdict
// as long as the broker's accept timeout, then get UNAVAILABLE naming the service, while
// everyone else is served meanwhile.
class AcceptTimeoutTest : public AdmissionTest {
 protected:
  std::vector<std::string> BrokerArgs() const override { return {"--accept-timeout", "300ms"}; }
};

TEST_F(AcceptTimeoutTest, ServerThatAnswersNoOfferLeavesItsClientUnavailable) {
  UniqueFd deaf = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(SendRaw(
      deaf.get(), ControlBytes(ControlType::kRegister, 1, EncodeRegister({.name = "test.deaf"}))));
  absl::StatusOr<ControlPacket> registered = ReceiveControl(deaf.get(), Soon());
  ASSERT_TRUE(registered.ok()) << registered.status();
  absl::Time start = absl::Now();
  std::future<absl::Status> waiting = std::async(
      std::launch::async, [&] { return ConnectToService("test.deaf", options_).status(); });
  ExpectServed();  // while that client waits
  absl::Status refused = waiting.get();
  absl::Duration waited = absl::Now() - start;
  RecordProperty("waited_ms", absl::StrCat(absl::ToInt64Milliseconds(waited)));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_THAT(std::string(refused.message()),
              AllOf(HasSubstr("\"test.deaf\""), HasSubstr("did not admit or refuse")));
  EXPECT_GE(waited, absl::Milliseconds(300));
  EXPECT_LT(waited, absl::Seconds(4)) << "the client waited out its own timeout instead";
  EXPECT_EQ(List().links.size(), 0u);
}

// All the answers to requests 1..count on a raw connection, by sequence.
std::map<uint32_t, absl::Status> ReadAnswers(int fd, uint32_t count) {
  std::map<uint32_t, absl::Status> answers;
  while (answers.size() < count) {
    absl::StatusOr<ControlPacket> packet = ReceiveControl(fd, Soon());
    if (!packet.ok()) break;
    absl::StatusOr<Answer> answer = DecodeAnswer(packet->body);
    answers[packet->sequence] = answer.ok() ? answer->status : answer.status();
  }
  return answers;
}

// The process of a server stopped with SIGSTOP reads nothing: the offers of new links fill
// its connection to the broker, and the broker drops it, telling each waiting client why in
// words (not as "sendmsg: Resource temporarily unavailable").
TEST_F(AdmissionTest, StoppedServerIsDroppedAndItsClientsToldWhy) {
  ProcessEvent registered;
  ChildProcess server = ForkTied([&] {
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register("test.stopped", AccessPolicy::SameUser(), {}, options_);
    if (!service.ok()) return 1;
    registered.Notify();
    pause();
    return 0;
  });
  ASSERT_TRUE(registered.WaitFor(kPatience));
  ASSERT_EQ(kill(server.pid(), SIGSTOP), 0);
  ASSERT_TRUE(syslink::testing::WaitUntilStopped(server.pid(), kPatience));

  // Connects pipelined on several connections, more than the server's connection holds.
  constexpr int kClients = 20;
  constexpr uint32_t kConnectsEach = 40;
  std::vector<UniqueFd> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(DialRaw(dir_.SocketPath()));
    ASSERT_TRUE(clients.back().valid());
    for (uint32_t i = 1; i <= kConnectsEach; ++i) {
      ASSERT_TRUE(
          SendRaw(clients.back().get(),
                  ControlBytes(ControlType::kConnect, i, EncodeConnect({.name = "test.stopped"}))));
    }
  }
  int dropped = 0, gone = 0, not_found = 0;
  for (UniqueFd& client : clients) {
    std::map<uint32_t, absl::Status> answers = ReadAnswers(client.get(), kConnectsEach);
    ASSERT_EQ(answers.size(), kConnectsEach);
    for (const auto& [sequence, status] : answers) {
      std::string message(status.message());
      EXPECT_THAT(message, Not(HasSubstr("Resource temporarily unavailable"))) << status;
      if (absl::IsNotFound(status)) {
        ++not_found;  // asked after the server was dropped
        continue;
      }
      ASSERT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
      EXPECT_THAT(message, HasSubstr("\"test.stopped\""));
      EXPECT_THAT(message, HasSubstr("stopped or stuck"));
      if (absl::StrContains(message, "went away before it admitted")) {
        ++gone;  // waiting for its verdict when it was dropped
      } else {
        ++dropped;  // the offer that found its connection full
      }
    }
  }
  RecordProperty("offers_queued_before_the_server_was_dropped", absl::StrCat(gone + 1));
  EXPECT_EQ(dropped, 1);
  EXPECT_GT(gone, 0);
  EXPECT_GT(not_found, 0);
  EXPECT_EQ(ConnectToService("test.stopped", options_).status().code(),
            absl::StatusCode::kNotFound);
  ExpectServed();
  server.Kill(SIGKILL);
  server.Wait();
}

}  // namespace
}  // namespace syslink::broker
