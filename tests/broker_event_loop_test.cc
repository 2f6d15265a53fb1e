// syslinkd's event loop against what could make it stop serving or misread an event:
//
// - a flood of connections that come and go keeps its listening socket readable; the
//   broker still answers an established client while the flood runs;
// - one wake-up whose first event closes connections, whose next makes a link in the
//   descriptor numbers they had, and whose last events are those connections' hang-ups,
//   recorded before they were closed: the link's ends are not taken for gone.
//
// The broker is //syslink/broker:syslinkd run by the test (tests/support/broker_process.h);
// the clients are raw SOCK_SEQPACKET connections to its socket, from this process and from
// children that die with it.

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_socket.h"
#include "tests/support/broker_process.h"
#include "tests/support/broker_robustness.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/other_user.h"
#include "tests/support/proc_state.h"
#include "tests/support/process_event.h"

namespace syslink::broker {
namespace {

using ::syslink::broker::internal::ControlPacket;
using ::syslink::broker::internal::ReceiveControl;
using ::syslink::testing::BrokerRobustnessTest;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::DialRaw;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkTied;
using ::syslink::testing::kPatience;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ProcessState;
using ::syslink::testing::ReadAnswer;
using ::syslink::testing::SendRaw;
using ::syslink::testing::Shared;
using ::syslink::testing::Soon;
using ::syslink::testing::WaitUntilStopped;

// ---- A flood of connections. --------------------------------------------------------------

// Processes that connect and close at once, in a loop, and connections each makes before
// the test asks the broker anything.
constexpr int kFlooders = 3;
constexpr uint64_t kConnectionsBeforeAsking = 1000;
// How long the flood runs at most: the answer must come before. A broker that answers only
// once the flood stops fails the test after this long.
constexpr absl::Duration kFloodLimit = absl::Seconds(20);

struct Flood {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> connections{0};
};

// In a flooder: connects and closes until told to stop. Exits 0 then, 1 if a connect fails.
int FloodUntilStopped(const std::string& socket_path, Flood* flood, ProcessEvent* flooding) {
  for (uint64_t made = 1; !flood->stop.load(); ++made) {
    if (!DialRaw(socket_path).valid()) return 1;
    flood->connections.fetch_add(1);
    if (made == kConnectionsBeforeAsking) flooding->Notify();
  }
  return 0;
}

TEST_F(BrokerRobustnessTest, AnswersAnEstablishedClientWhileConnectionsFloodIn) {
  UniqueFd client = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(client.valid());
  Shared<Flood> flood;
  ProcessEvent flooding;
  std::vector<ChildProcess> flooders;
  for (int i = 0; i < kFlooders; ++i) {
    flooders.push_back(
        ForkTied([&] { return FloodUntilStopped(dir_.SocketPath(), &*flood, &flooding); }));
  }
  for (int i = 0; i < kFlooders; ++i) ASSERT_TRUE(flooding.WaitFor(kPatience)) << "flooder " << i;

  const uint64_t before = flood->connections.load();
  const absl::Time asked = absl::Now();
  ASSERT_TRUE(SendRaw(client.get(), ControlBytes(ControlType::kConnect, 1,
                                                 EncodeConnect({.name = "no.such.service"}))));
  pollfd answer_ready = {client.get(), POLLIN, 0};
  const int ready =
      poll(&answer_ready, 1, static_cast<int>(absl::ToInt64Milliseconds(kFloodLimit)));
  const absl::Duration waited = absl::Now() - asked;
  const uint64_t during = flood->connections.load() - before;
  flood->stop.store(true);
  for (ChildProcess& flooder : flooders) {
    EXPECT_EQ(flooder.WaitFor(kPatience), ChildProcess::Exited(0)) << "a flooder's connect failed";
  }
  RecordProperty("answered_after_us", absl::StrCat(absl::ToInt64Microseconds(waited)));
  RecordProperty("connections_while_waiting", absl::StrCat(during));

  // The flood stops only after poll() returns: an answer seen here came while it ran.
  ASSERT_EQ(ready, 1) << "no answer within " << kFloodLimit << " while " << during
                      << " connections came and went";
  absl::StatusOr<Answer> answer = ReadAnswer(client.get(), 1);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(absl::IsNotFound(answer->status)) << answer->status;
  ExpectServed();
}

// ---- Events of connections closed earlier in the same wake-up. ----------------------------

// Connections closed in the first event of the wake-up, their hang-ups the last events.
constexpr int kClosedInTheBatch = 16;

// Registers `name` on a raw connection of its own.
UniqueFd RegisterRaw(const std::string& socket_path, const std::string& name) {
  UniqueFd server = DialRaw(socket_path);
  if (!server.valid()) return server;
  if (!SendRaw(server.get(),
               ControlBytes(ControlType::kRegister, 1, EncodeRegister({.name = name})))) {
    return UniqueFd();
  }
  absl::StatusOr<Answer> answer = ReadAnswer(server.get(), 1);
  if (!answer.ok() || !answer->status.ok()) return UniqueFd();
  return server;
}

// The broker closes the connections waiting on test.slow when its server leaves (its
// answers to them fail: they have gone too), then makes a link, whose new descriptors take
// the lowest free numbers, theirs: among them both watch sockets the broker keeps. Their
// hang-ups, recorded before they were closed, come last in the same wake-up and must not
// reach the watch sockets that took their numbers.
TEST_F(BrokerRobustnessTest, HangUpOfAConnectionClosedInTheSameWakeUpDoesNotCloseALinkEnd) {
  UniqueFd victim_server = RegisterRaw(dir_.SocketPath(), "test.victim");
  ASSERT_TRUE(victim_server.valid());
  UniqueFd slow_server = RegisterRaw(dir_.SocketPath(), "test.slow");
  ASSERT_TRUE(slow_server.valid());
  UniqueFd client = DialRaw(dir_.SocketPath());
  ASSERT_TRUE(client.valid());
  std::vector<UniqueFd> waiting;
  for (int i = 0; i < kClosedInTheBatch; ++i) {
    UniqueFd& connection = waiting.emplace_back(DialRaw(dir_.SocketPath()));
    ASSERT_TRUE(connection.valid());
    // A connect to test.slow, whose server answers no offer, then one to a name nobody
    // serves: its NOT_FOUND comes back once the first waits.
    ASSERT_TRUE(SendRaw(connection.get(), ControlBytes(ControlType::kConnect, 1,
                                                       EncodeConnect({.name = "test.slow"}))));
    ASSERT_TRUE(SendRaw(connection.get(), ControlBytes(ControlType::kConnect, 2,
                                                       EncodeConnect({.name = "no.such"}))));
    absl::StatusOr<Answer> not_found = ReadAnswer(connection.get(), 2);
    ASSERT_TRUE(not_found.ok()) << not_found.status();
    ASSERT_TRUE(absl::IsNotFound(not_found->status)) << not_found->status;
  }
  ASSERT_TRUE(SendRaw(client.get(), ControlBytes(ControlType::kConnect, 1,
                                                 EncodeConnect({.name = "test.victim"}))));
  absl::StatusOr<ControlPacket> offer = ReceiveControl(victim_server.get(), Soon());
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_EQ(offer->type, ControlType::kOffer);
  absl::StatusOr<NewLinkEvent> offered = DecodeNewLink(offer->body);
  ASSERT_TRUE(offered.ok()) << offered.status();
  const uint64_t before_ends_closed = List().counters.ends_closed;

  // The broker is stopped while it waits for events (its ready list is empty then), so
  // that the next wake-up reports them in the order they happen here.
  const pid_t broker = broker_->pid();
  ASSERT_TRUE(Eventually([&] { return ProcessState(broker) == 'S'; }));
  ASSERT_EQ(kill(broker, SIGSTOP), 0);
  ASSERT_TRUE(WaitUntilStopped(broker, kPatience));
  slow_server.Reset();
  ASSERT_TRUE(SendRaw(
      victim_server.get(),
      ControlBytes(ControlType::kAdmit, 2,
                   EncodeAdmit({.link_id = offered->link_id, .status = absl::OkStatus()}))));
  waiting.clear();
  ASSERT_EQ(kill(broker, SIGCONT), 0);

  // Both ends arrive, and are held open here until the end of the test.
  absl::StatusOr<ControlPacket> client_end = ReceiveControl(client.get(), Soon());
  ASSERT_TRUE(client_end.ok()) << client_end.status();
  absl::StatusOr<Answer> linked = DecodeAnswer(client_end->body);
  ASSERT_TRUE(linked.ok()) << linked.status();
  ASSERT_TRUE(linked->status.ok()) << linked->status;
  absl::StatusOr<ControlPacket> server_end = ReceiveControl(victim_server.get(), Soon());
  ASSERT_TRUE(server_end.ok()) << server_end.status();
  ASSERT_EQ(server_end->type, ControlType::kNewLink);

  Listing after = List();
  auto link = std::find_if(after.links.begin(), after.links.end(),
                           [&](const LinkListing& l) { return l.id == offered->link_id; });
  ASSERT_NE(link, after.links.end()) << "the broker forgot a link whose ends are both held";
  EXPECT_FALSE(link->closed[0]) << "the client's end, held here, was taken for gone";
  EXPECT_FALSE(link->closed[1]) << "the server's end, held here, was taken for gone";
  EXPECT_EQ(after.counters.ends_closed, before_ends_closed);
}

}  // namespace
}  // namespace syslink::broker
