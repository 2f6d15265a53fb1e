// Who may reach a service, and who becomes the broker, with real processes: a client
// running as another uid (setuid in a forked child) against a service's access policy,
// and twenty processes that all find no broker at once and start one.
//
// Forked children report through their exit code (ChildExit) and a Shared<> report; see
// tests/support/broker_process.h for the broker run by the test and the /proc helpers.

#include <grp.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/broker/paths.h"
#include "syslink/link.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::EmbeddedBrokersFor;
using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::PidsHoldingOpen;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::Shared;
using ::syslink::testing::Soon;
using ::syslink::testing::WaitUntilGone;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kChildPatience = absl::Seconds(30);

enum ChildExit : int {
  kOk = 0,
  kCannotChangeUser = 10,
  kConnectFailed = 11,
  kCallFailed = 12,
  kRegisterFailed = 13,
  kListFailed = 14,
  kTestProcessGone = 15,
};

// ---- A client of another uid against a service's policy. -----------------------------

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

struct ForeignClientReport {
  std::atomic<int> connect_code{-1};
  char connect_message[512];
  std::atomic<int> call_ok{0};
};

// In a forked child: becomes `uid`/`gid` (no supplementary groups), connects to `name` and,
// if let in, makes one call.
int ConnectAs(uid_t uid, gid_t gid, const std::string& name, const BrokerConnectOptions& options,
              ForeignClientReport* report) {
  if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0 || getuid() != uid) {
    return kCannotChangeUser;
  }
  absl::StatusOr<Link> link = ConnectToService(name, options);
  std::string message(link.status().message());
  std::strncpy(report->connect_message, message.c_str(), sizeof(report->connect_message) - 1);
  report->connect_code.store(static_cast<int>(link.status().code()));
  if (!link.ok()) return kOk;  // the test process judges the refusal
  absl::StatusOr<Message> reply = link->Call(1, AsBytes("from afar"), {}, Soon());
  if (!reply.ok() || !reply->status.ok() || reply->DataAsString() != "from afar") {
    return kCallFailed;
  }
  report->call_ok.store(1);
  return kOk;
}

// A broker every uid can reach: its socket 0666 in a root-owned 0755 directory (the broker
// refuses a directory others can write to). Policies decide who gets in.
class ForeignUidTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root, to run a client as uid " << kNobody
                   << " with setuid(); this test runs as uid " << geteuid();
    }
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), {"--socket-mode", "666"});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }
  void TearDown() override {
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
    }
  }

  // Registers `name` with `policy` here (the owner is root), runs a client as nobody, and
  // serves its call if the broker lets it in.
  void Run(const std::string& name, const AccessPolicy& policy, ForeignClientReport* report) {
    BrokerConnectOptions options = broker_->ConnectOptions();
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register(name, policy, {}, options);
    ASSERT_TRUE(service.ok()) << service.status();
    ChildProcess client =
        ChildProcess::Fork([&] { return ConnectAs(kNobody, kNogroup, name, options, report); });
    // The client's connect returns once this server admits the link: accept meanwhile.
    std::optional<IncomingLink> incoming;
    Eventually([&] {
      if (report->connect_code.load() != -1) return true;
      absl::StatusOr<IncomingLink> link = service->Accept(absl::Now() + absl::Milliseconds(20));
      if (link.ok()) incoming.emplace(*std::move(link));
      return false;
    });
    ASSERT_NE(report->connect_code.load(), -1) << "the client's connect did not return";
    if (report->connect_code.load() == static_cast<int>(absl::StatusCode::kOk)) {
      if (!incoming) {
        absl::StatusOr<IncomingLink> link = service->Accept(Soon());
        ASSERT_TRUE(link.ok()) << link.status();
        incoming.emplace(*std::move(link));
      }
      EXPECT_EQ(incoming->client.uid, kNobody);  // attested by the kernel
      EXPECT_EQ(incoming->client.gid, kNogroup);
      EXPECT_EQ(incoming->client.pid, client.pid());
      absl::StatusOr<Message> request = incoming->link.Receive(Soon());
      ASSERT_TRUE(request.ok()) << request.status();
      ASSERT_TRUE(incoming->link.Reply(request->id, absl::OkStatus(), request->data).ok());
    }
    EXPECT_EQ(client.WaitFor(kPatience), ChildProcess::Exited(kOk));
  }

  ScratchDirectory dir_{"uid", 0755};
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(ForeignUidTest, UidOutsideThePolicyIsPermissionDenied) {
  Shared<ForeignClientReport> report;
  Run("test.private", AccessPolicy::SameUser(), &*report);
  EXPECT_EQ(report->connect_code.load(), static_cast<int>(absl::StatusCode::kPermissionDenied))
      << report->connect_message;
  EXPECT_THAT(std::string(report->connect_message),
              AllOf(HasSubstr(absl::StrCat("uid ", kNobody)), HasSubstr("\"test.private\"")));
  absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath());
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->counters.refused, 1u);
  EXPECT_EQ(listing->counters.links_made, 0u);
}

TEST_F(ForeignUidTest, UidListedInThePolicyConnects) {
  Shared<ForeignClientReport> report;
  AccessPolicy policy;
  policy.allowed_uids = {kNobody};
  Run("test.shared", policy, &*report);
  EXPECT_EQ(report->connect_code.load(), static_cast<int>(absl::StatusCode::kOk))
      << report->connect_message;
  EXPECT_TRUE(report->call_ok.load());
}

TEST_F(ForeignUidTest, GidListedInThePolicyConnects) {
  Shared<ForeignClientReport> report;
  AccessPolicy policy;
  policy.allowed_gids = {kNogroup};
  Run("test.group", policy, &*report);
  EXPECT_EQ(report->connect_code.load(), static_cast<int>(absl::StatusCode::kOk))
      << report->connect_message;
  EXPECT_TRUE(report->call_ok.load());
}

TEST_F(ForeignUidTest, PolicyListingOtherUidsStillRefusesThisOne) {
  Shared<ForeignClientReport> report;
  AccessPolicy policy;
  policy.allowed_uids = {kNobody - 1, 1000};
  policy.allowed_gids = {kNogroup - 1};
  Run("test.others", policy, &*report);
  EXPECT_EQ(report->connect_code.load(), static_cast<int>(absl::StatusCode::kPermissionDenied))
      << report->connect_message;
  EXPECT_THAT(std::string(report->connect_message), HasSubstr("uids 65533, 1000; gids 65533"));
}

// ---- Twenty processes start the broker at once. --------------------------------------

constexpr int kRacers = 20;

struct RaceReport {
  std::atomic<int> ready{0};
  std::atomic<int> go{0};
  std::atomic<int> registered{0};
  std::atomic<int> release{0};
  std::atomic<pid_t> broker_pid[kRacers];
};

// Waits for the start signal, registers race.<index> (starting a broker if none answers),
// notes which broker answered, and holds the registration until released.
int Racer(int index, const std::string& socket_path, RaceReport* report) {
  report->ready.fetch_add(1);
  if (!Eventually([&] { return report->go.load() != 0; }, kChildPatience)) return kTestProcessGone;
  BrokerConnectOptions options{
      .socket_path = socket_path, .start_broker = true, .timeout = kChildPatience};
  absl::StatusOr<ServiceRegistration> service = ServiceRegistration::Register(
      absl::StrCat("race.", index), AccessPolicy::SameUser(), {}, options);
  if (!service.ok()) return kRegisterFailed;
  absl::StatusOr<Listing> listing = ListBrokerAt(socket_path);
  if (!listing.ok()) return kListFailed;
  report->broker_pid[index].store(listing->broker_pid);
  report->registered.fetch_add(1);
  // Looked at every millisecond: twenty racers looking more often take the CPUs from the
  // losing brokers, which must start before they can exit.
  if (!Eventually([&] { return report->release.load() != 0; }, kChildPatience,
                  absl::Milliseconds(1))) {
    return kTestProcessGone;
  }
  return kOk;
}

// Run a few times: a race that goes wrong now and then should not pass by luck.
class AutoStartRaceTest : public ::testing::TestWithParam<int> {};

TEST_P(AutoStartRaceTest, TwentyProcessesStartingAtOnceGetExactlyOneBroker) {
  ScratchDirectory dir("race");
  const std::string socket_path = dir.SocketPath();
  syslink::testing::AutoStartedBrokers cleanup(socket_path);
  const std::string lock_path = LockPathFor(socket_path);
  Shared<RaceReport> report;
  std::vector<ChildProcess> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.push_back(ChildProcess::Fork([&, i] { return Racer(i, socket_path, &*report); }));
  }
  ASSERT_TRUE(Eventually([&] { return report->ready.load() == kRacers; }));
  absl::Time start = absl::Now();
  report->go.store(1);
  ASSERT_TRUE(Eventually([&] { return report->registered.load() == kRacers; }, kChildPatience))
      << report->registered.load() << " of " << kRacers << " registered";
  RecordProperty("all_registered_after_us",
                 absl::StrCat(absl::ToInt64Microseconds(absl::Now() - start)));

  std::set<pid_t> answered;
  for (int i = 0; i < kRacers; ++i) answered.insert(report->broker_pid[i].load());
  ASSERT_EQ(answered.size(), 1u) << "the racers were served by different brokers";
  pid_t broker = *answered.begin();
  // Twenty brokers may have been started (more, as a racer starts another each second
  // none answers); those that lost the race exit once started, and only the winner holds
  // the lock file. Under a sanitizer on two CPUs each start takes long, so they are given
  // the children's patience, and a look at every process (/proc) only every 10 ms.
  std::vector<pid_t> brokers;
  EXPECT_TRUE(Eventually(
      [&] {
        brokers = EmbeddedBrokersFor(socket_path);
        return brokers.size() <= 1;
      },
      kChildPatience, absl::Milliseconds(10)))
      << brokers.size() << " broker processes for " << socket_path;
  EXPECT_THAT(brokers, ElementsAre(broker));
  EXPECT_THAT(PidsHoldingOpen(lock_path), ElementsAre(broker));
  absl::StatusOr<Listing> listing = ListBrokerAt(socket_path);
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->broker_pid, broker);
  EXPECT_EQ(listing->services.size(), static_cast<size_t>(kRacers));

  report->release.store(1);
  for (ChildProcess& racer : racers) EXPECT_EQ(racer.WaitFor(kPatience), ChildProcess::Exited(kOk));
  ASSERT_EQ(kill(broker, SIGTERM), 0);
  EXPECT_TRUE(WaitUntilGone(broker, kPatience));
  EXPECT_TRUE(PidsHoldingOpen(lock_path).empty());
}

INSTANTIATE_TEST_SUITE_P(Round, AutoStartRaceTest, ::testing::Range(0, 3));

// A server that blocks SIGTERM and SIGINT to sigwait() for them (as memfs does) starts the
// broker: the broker must not inherit the blocked signals through exec and ignore SIGTERM.
TEST(AutoStartTest, BrokerStartedBySignalBlockingProcessStopsOnSigterm) {
  ScratchDirectory dir("autosig");
  syslink::testing::AutoStartedBrokers cleanup(dir.SocketPath());
  ChildProcess server = ChildProcess::Fork([&] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    BrokerConnectOptions options{
        .socket_path = dir.SocketPath(), .start_broker = true, .timeout = kChildPatience};
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register("blocked.signals", AccessPolicy::SameUser(), {}, options);
    return service.ok() ? 0 : 1;
  });
  ASSERT_EQ(server.WaitFor(kChildPatience), ChildProcess::Exited(0));
  absl::StatusOr<Listing> listing = ListBrokerAt(dir.SocketPath());
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(kill(listing->broker_pid, SIGTERM), 0);
  EXPECT_TRUE(WaitUntilGone(listing->broker_pid, kPatience))
      << "syslinkd (pid " << listing->broker_pid << ") ignored SIGTERM";
}

// $SYSLINK_BROKER_SOCKET may be relative: the broker the library starts runs in /, so the
// path is made absolute first.
TEST(AutoStartTest, RelativeSocketPathStartsABrokerAtTheSamePlace) {
  ScratchDirectory dir("autorel");
  const std::string absolute = dir.path() + "/rel/broker.sock";
  syslink::testing::AutoStartedBrokers cleanup(absolute);
  ChildProcess server = syslink::testing::ForkTied([&] {
    if (chdir(dir.path().c_str()) != 0) return 1;
    setenv("SYSLINK_BROKER_SOCKET", "rel/broker.sock", 1);
    BrokerConnectOptions options{.start_broker = true, .timeout = kChildPatience};
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register("relative.path", AccessPolicy::SameUser(), {}, options);
    return service.ok() ? 0 : 2;
  });
  ASSERT_EQ(server.WaitFor(kChildPatience), ChildProcess::Exited(0));
  absl::StatusOr<Listing> listing = ListBrokerAt(absolute);
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(kill(listing->broker_pid, SIGTERM), 0);
  EXPECT_TRUE(WaitUntilGone(listing->broker_pid, kPatience));
}

}  // namespace
}  // namespace syslink::broker
