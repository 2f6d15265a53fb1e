// A broker's idle exit, across real processes: syslinkd given --idle-exit, and brokers the
// library starts on demand (this test binary re-executed), leave once nothing uses them
// and stay while a service is registered or a link has an end held. Clients that arrive
// while brokers come and go are all answered.

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <set>
#include <string>

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

namespace syslink::broker {
namespace {

using ::syslink::testing::AutoStartedBrokers;
using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::PidsHoldingOpen;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::WaitUntilGone;

constexpr absl::Duration kIdle = absl::Milliseconds(300);
// Longer than tests/support's kPatience: these waits include starting a broker process.
constexpr absl::Duration kStartPatience = absl::Seconds(20);
// A broker that should stay is watched this long: four idle periods, in any of which it
// would have left.
constexpr absl::Duration kWatched = absl::Milliseconds(4 * 300);

// Options that start a broker leaving after kIdle when none answers.
BrokerConnectOptions AutoStart(const std::string& socket_path, absl::Duration idle_exit = kIdle) {
  return {.socket_path = socket_path,
          .start_broker = true,
          .timeout = kStartPatience,
          .started_broker_idle_exit = idle_exit};
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// The pid of the broker answering at `socket_path`, or -1.
pid_t BrokerAt(const std::string& socket_path) {
  absl::StatusOr<Listing> listing = ListBrokerAt(socket_path, absl::Seconds(5));
  return listing.ok() ? listing->broker_pid : -1;
}

// ---- syslinkd started by hand. -----------------------------------------------------------

TEST(HandStartedBrokerTest, WithIdleExitLeavesCleanlyOnceNothingUsesIt) {
  ScratchDirectory dir("idlehand");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
      BrokerProcess::Start(dir.SocketPath(), {"--idle-exit=300ms"});
  ASSERT_TRUE(broker.ok()) << broker.status();
  const absl::Time started = absl::Now();
  EXPECT_EQ((*broker)->WaitForExit(kStartPatience), ChildProcess::Exited(0));
  EXPECT_GE(absl::Now() - started, kIdle);
  EXPECT_FALSE(Exists(dir.SocketPath())) << "the socket was left behind";
  EXPECT_TRUE(PidsHoldingOpen(LockPathFor(dir.SocketPath())).empty());
}

TEST(HandStartedBrokerTest, WithIdleExitStaysWhileAServiceIsRegistered) {
  ScratchDirectory dir("idlereg");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
      BrokerProcess::Start(dir.SocketPath(), {"--idle-exit=300ms"});
  ASSERT_TRUE(broker.ok()) << broker.status();
  std::optional<absl::StatusOr<ServiceRegistration>> service = ServiceRegistration::Register(
      "test.held", AccessPolicy::SameUser(), {}, (*broker)->ConnectOptions());
  ASSERT_TRUE(service->ok()) << service->status();
  EXPECT_FALSE(WaitUntilGone((*broker)->pid(), kWatched)) << "it left with a service registered";
  service.reset();
  EXPECT_EQ((*broker)->WaitForExit(kStartPatience), ChildProcess::Exited(0));
}

// ---- A broker started on demand. ----------------------------------------------------------

TEST(AutoStartedBrokerTest, StaysWhileItsServiceIsRegisteredAndLeavesAfterward) {
  ScratchDirectory dir("idleauto");
  AutoStartedBrokers cleanup(dir.SocketPath());
  std::optional<absl::StatusOr<ServiceRegistration>> service = ServiceRegistration::Register(
      "test.held", AccessPolicy::SameUser(), {}, AutoStart(dir.SocketPath()));
  ASSERT_TRUE(service->ok()) << service->status();
  const pid_t broker = BrokerAt(dir.SocketPath());
  ASSERT_GT(broker, 0);
  EXPECT_FALSE(WaitUntilGone(broker, kWatched)) << "it left with a service registered";

  const absl::Time unregistered = absl::Now();
  service.reset();
  EXPECT_TRUE(WaitUntilGone(broker, kStartPatience)) << "it did not leave once idle";
  EXPECT_GE(absl::Now() - unregistered, kIdle);
  EXPECT_FALSE(Exists(dir.SocketPath()));
}

TEST(AutoStartedBrokerTest, StaysWhileEitherEndOfALinkIsHeld) {
  ScratchDirectory dir("idlelink");
  AutoStartedBrokers cleanup(dir.SocketPath());
  const BrokerConnectOptions options = AutoStart(dir.SocketPath());
  std::optional<absl::StatusOr<ServiceRegistration>> service =
      ServiceRegistration::Register("test.linked", AccessPolicy::SameUser(), {}, options);
  ASSERT_TRUE(service->ok()) << service->status();
  const pid_t broker = BrokerAt(dir.SocketPath());
  ASSERT_GT(broker, 0);
  ConnectedPair pair = ConnectAndAccept(**service, "test.linked", options);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status();
  service.reset();  // no registration left: only the link keeps the broker

  EXPECT_FALSE(WaitUntilGone(broker, kWatched)) << "it left while both ends were held";
  { Link client_end = std::move(pair.client->link); }
  EXPECT_FALSE(WaitUntilGone(broker, kWatched)) << "it left while the server's end was held";

  const absl::Time closed = absl::Now();
  { Link server_end = std::move(pair.server->link); }
  EXPECT_TRUE(WaitUntilGone(broker, kStartPatience)) << "it did not leave once idle";
  EXPECT_GE(absl::Now() - closed, kIdle);
}

// Brokers that leave 2 ms after their last client, and requests spaced 0 to 3.5 ms apart
// around that moment: a request may race a broker's exit (its connect queued on a listener
// about to close, or refused as the socket is unlinked) and must still be answered, by
// that broker or by the next one started. The spacing only spreads the requests over both
// sides of the exit; every request is expected answered whichever side it lands on.
TEST(AutoStartedBrokerTest, ClientsArrivingAsBrokersLeaveAreAllAnswered) {
  constexpr int kRequests = 48;
  ScratchDirectory dir("idlerace");
  AutoStartedBrokers cleanup(dir.SocketPath());
  const BrokerConnectOptions options = AutoStart(dir.SocketPath(), absl::Milliseconds(2));
  std::set<pid_t> brokers;
  for (int i = 0; i < kRequests; ++i) {
    absl::SleepFor(absl::Microseconds(500 * (i % 8)));
    absl::StatusOr<Listing> listing = ListBroker(options);
    ASSERT_TRUE(listing.ok()) << "request " << i << ": " << listing.status();
    brokers.insert(listing->broker_pid);
  }
  RecordProperty("brokers_started", absl::StrCat(brokers.size()));
  EXPECT_GT(brokers.size(), 1u) << "no broker left between requests: nothing was raced";
}

}  // namespace
}  // namespace syslink::broker
