// A broker no client can stall, attacked by a second local user (uid 65534 with setuid;
// skipped unless the test runs as root), while root's calls are timed:
//
// - the SO_LINGER descriptor: a loopback TCP socket with a full send buffer and
//   SO_LINGER {1, 30}, passed to the broker with a control message. The kernel refuses it
//   (SO_PASSRIGHTS), or, with that guard off as on kernels before 6.16, the broker drops
//   the connection and closes the socket off its thread with the linger cleared;
// - the broker at its descriptor limit refuses new connections with a notice instead of
//   spinning on its listening socket, and serves again once descriptors free;
// - per-uid limits: one user cannot take every connection, name or pending connect.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "syslink/broker/client.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/end_transfer.h"
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
using ::syslink::testing::CanRunAsOtherUsers;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectAndAccept;
using ::syslink::testing::ConnectedPair;
using ::syslink::testing::ControlBytes;
using ::syslink::testing::CpuTime;
using ::syslink::testing::DialRaw;
using ::syslink::testing::Eventually;
using ::syslink::testing::ForkAs;
using ::syslink::testing::kNeedsRoot;
using ::syslink::testing::kNobodyUser;
using ::syslink::testing::kPatience;
using ::syslink::testing::kSecondUser;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ProcessEvent;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::SendRaw;
using ::syslink::testing::Shared;
using ::syslink::testing::SharedStatus;
using ::syslink::testing::Soon;
using ::testing::AllOf;
using ::testing::HasSubstr;

// What root's call through the broker may take while it is attacked. It answers in well
// under 10 ms here; the bound is generous for loaded machines and sanitizers, and far below
// the 30 s the SO_LINGER attack froze the broker for.
constexpr absl::Duration kServedWithin = absl::Seconds(1);

// A broker every user can reach (socket 0666 in a root directory), and root's service
// test.probe registered with it.
class StallTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args, uint64_t descriptor_limit = 0,
             const std::string& policy = "") {
    if (!CanRunAsOtherUsers()) GTEST_SKIP() << kNeedsRoot;
    args.insert(args.begin(), {"--socket-mode", "666"});
    if (!policy.empty()) {
      std::string path = dir_.path() + "/names.policy";
      std::ofstream(path) << policy;
      args.insert(args.end(), {"--policy", path});
    }
    absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
        BrokerProcess::Start(dir_.SocketPath(), args, kPatience, descriptor_limit);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    options_ = broker_->ConnectOptions();
    absl::StatusOr<ServiceRegistration> probe =
        ServiceRegistration::Register("test.probe", AccessPolicy::SameUser(), {}, options_);
    ASSERT_TRUE(probe.ok()) << probe.status();
    probe_.emplace(*std::move(probe));
  }
  void TearDown() override {
    probe_.reset();
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), ChildProcess::Exited(0));
    }
  }

  // How long root takes to get a new link to test.probe through the broker and make one
  // round trip on it.
  absl::Duration TimeServed() {
    absl::Time start = absl::Now();
    ConnectedPair pair = ConnectAndAccept(*probe_, "test.probe", options_);
    EXPECT_TRUE(pair.client.ok()) << pair.client.status();
    EXPECT_TRUE(pair.server.ok()) << pair.server.status();
    if (!pair.client.ok() || !pair.server.ok()) return absl::InfiniteDuration();
    EXPECT_TRUE(pair.client->link.Send(1, AsBytes("ping")).ok());
    absl::StatusOr<Message> request = pair.server->link.Receive(Soon());
    EXPECT_TRUE(request.ok()) << request.status();
    if (!request.ok()) return absl::InfiniteDuration();
    EXPECT_TRUE(pair.server->link.Reply(request->id, absl::OkStatus(), request->data).ok());
    absl::StatusOr<Message> reply = pair.client->link.Receive(Soon());
    EXPECT_TRUE(reply.ok()) << reply.status();
    return absl::Now() - start;
  }

  // How long a listing takes: one request to the broker and its answer.
  absl::Duration TimeListed() {
    absl::Time start = absl::Now();
    absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath());
    EXPECT_TRUE(listing.ok()) << listing.status();
    return listing.ok() ? absl::Now() - start : absl::InfiniteDuration();
  }

  // The slowest of `n` timings of a new link and of a listing, recorded as `property`
  // ("_link_us", "_listing_us").
  absl::Duration SlowestServed(int n, const std::string& property) {
    absl::Duration link, listing;
    for (int i = 0; i < n; ++i) {
      link = std::max(link, TimeServed());
      listing = std::max(listing, TimeListed());
    }
    RecordProperty(property + "_link_us", absl::StrCat(absl::ToInt64Microseconds(link)));
    RecordProperty(property + "_listing_us", absl::StrCat(absl::ToInt64Microseconds(listing)));
    return std::max(link, listing);
  }

  // Registers test.slow, which only nobody may connect to and whose server (`connection`,
  // raw) answers no offer: connects to it wait.
  void RegisterSlowService(UniqueFd& connection) {
    connection = DialRaw(dir_.SocketPath());
    RegisterRequest slow_service{.name = "test.slow"};
    slow_service.policy.allowed_uids = {kNobodyUser.uid};
    ASSERT_TRUE(SendRaw(connection.get(),
                        ControlBytes(ControlType::kRegister, 1, EncodeRegister(slow_service))));
    ASSERT_TRUE(ReceiveControl(connection.get(), Soon()).ok());
  }

  Listing List() {
    absl::StatusOr<Listing> listing = ListBrokerAt(dir_.SocketPath());
    EXPECT_TRUE(listing.ok()) << listing.status();
    return listing.ok() ? *std::move(listing) : Listing{};
  }

  ScratchDirectory dir_{"stall", 0755};
  std::unique_ptr<BrokerProcess> broker_;
  BrokerConnectOptions options_;
  std::optional<ServiceRegistration> probe_;
};

// ---- The SO_LINGER descriptor. ------------------------------------------------------------

struct LingerAttack {
  std::atomic<int> send_errno{-1};  // 0: the broker's socket took the descriptor
  std::atomic<int> unsent_bytes{0};
  SharedStatus failed;
};

// A loopback TCP connection to a listener that never accepts, its send buffer full and
// SO_LINGER {1, 30}: closing its last copy waits up to 30 s. The listener stays open
// (closing it would reset the connection).
struct LingeringSocket {
  UniqueFd listener;
  UniqueFd tcp;
};
absl::StatusOr<LingeringSocket> MakeLingeringSocket(LingerAttack* report) {
  LingeringSocket made;
  made.listener.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(made.listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(made.listener.get(), 1) != 0 ||
      getsockname(made.listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::InternalError("loopback listener");
  }
  made.tcp.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(made.tcp.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return absl::InternalError("loopback connect");
  }
  std::vector<char> chunk(64 * 1024, 'x');
  while (send(made.tcp.get(), chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
  }
  int unsent = 0;
  ioctl(made.tcp.get(), TIOCOUTQ, &unsent);
  report->unsent_bytes.store(unsent);
  struct linger linger = {1, 30};
  setsockopt(made.tcp.get(), SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
  return made;
}

// Sends `bytes` with the lingering socket over `socket`, then closes this copy, so that the
// receiver holds the last reference if it took it.
void SendLingering(int socket, std::span<const std::byte> bytes, LingeringSocket& lingering,
                   LingerAttack* report) {
  int fds[] = {lingering.tcp.get()};
  bool sent = SendRaw(socket, bytes, fds);
  report->send_errno.store(sent ? 0 : errno);
  if (!sent) {
    // Refused: this copy is the last, and closing it would linger here for 30 s.
    struct linger linger = {0, 0};
    setsockopt(lingering.tcp.get(), SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
  }
  lingering.tcp.Reset();
}

// In the attacker: the lingering socket passed to the broker with a control message.
int AttackWithLingeringSocket(const std::string& broker_socket, LingerAttack* report,
                              ProcessEvent* attacked, ProcessEvent* done) {
  absl::StatusOr<LingeringSocket> lingering = MakeLingeringSocket(report);
  if (!lingering.ok()) {
    report->failed.Set(lingering.status());
    return 1;
  }
  UniqueFd broker = DialRaw(broker_socket);
  SendLingering(broker.get(), ControlBytes(ControlType::kList, 1, {}), *lingering, report);
  attacked->Notify();
  return done->WaitFor(absl::Seconds(60)) ? 0 : 2;
}

// In the attacker: a link of its own service, the lingering socket sent over its client
// end's watch socket, then that end closed, so that the broker closes its side of the
// watch socket with the message still queued there.
int AttackThroughAWatchSocket(const BrokerConnectOptions& options, LingerAttack* report,
                              ProcessEvent* attacked, ProcessEvent* done) {
  absl::StatusOr<ServiceRegistration> own =
      ServiceRegistration::Register("test.attack", AccessPolicy::SameUser(), {}, options);
  if (!own.ok()) {
    report->failed.Set(own.status());
    return 1;
  }
  ConnectedPair pair = ConnectAndAccept(*own, "test.attack", options);
  if (!pair.client.ok() || !pair.server.ok()) {
    report->failed.Set(absl::InternalError("no link to its own service"));
    return 1;
  }
  // The end's descriptors by number: socket, region, watch (end_transfer.h's token).
  absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair.client->link));
  std::vector<std::string> parts = absl::StrSplit(token.value_or(""), ':');
  int watch = -1;
  if (!token.ok() || parts.size() < 4 || !absl::SimpleAtoi(parts[3], &watch) || watch < 0) {
    report->failed.Set(absl::InternalError("no watch socket in the end's token"));
    return 1;
  }
  absl::StatusOr<LingeringSocket> lingering = MakeLingeringSocket(report);
  if (!lingering.ok()) {
    report->failed.Set(lingering.status());
    return 1;
  }
  const std::byte byte{0};
  SendLingering(watch, std::span(&byte, 1), *lingering, report);
  CloseReleasedEnd(*token);  // the end's last copy: the broker sees it go
  attacked->Notify();
  return done->WaitFor(absl::Seconds(60)) ? 0 : 2;
}

// The parameter: whether the broker asks the kernel to refuse descriptors (SO_PASSRIGHTS).
class LingeringDescriptorTest : public StallTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LingeringDescriptorTest, BrokerKeepsServingOthers) {
  const bool kernel_guard = GetParam();
  ASSERT_NO_FATAL_FAILURE(
      Start({kernel_guard ? "--kernel-descriptor-guard=on" : "--kernel-descriptor-guard=off"}));
  if (broker_ == nullptr) return;
  SlowestServed(3, "served_before");
  Shared<LingerAttack> report;
  ProcessEvent attacked, done;
  ChildProcess attacker = ForkAs(kNobodyUser, [&] {
    return AttackWithLingeringSocket(dir_.SocketPath(), &*report, &attacked, &done);
  });
  ASSERT_TRUE(attacked.WaitFor(kPatience)) << report->failed.Get();
  RecordProperty("unsent_bytes", absl::StrCat(report->unsent_bytes.load()));
  EXPECT_GT(report->unsent_bytes.load(), 0);

  absl::Duration slowest = SlowestServed(5, "served_during_attack");
  EXPECT_LT(slowest, kServedWithin);

  Listing after = List();
  if (kernel_guard && report->send_errno.load() == EPERM) {
    // The kernel refused it: nothing reached the broker.
    EXPECT_EQ(after.counters.descriptors_refused, 0u);
  } else {
    // It reached the broker (no guard, or a kernel without SO_PASSRIGHTS): the connection
    // is dropped and the socket closed aside, promptly: with its linger kept, that close
    // would take 30 s.
    EXPECT_EQ(report->send_errno.load(), 0) << std::strerror(report->send_errno.load());
    EXPECT_EQ(after.counters.descriptors_refused, 1u);
    absl::Time start = absl::Now();
    EXPECT_TRUE(Eventually(
        [&] {
          Listing l = List();
          return l.counters.closed_aside >= 1 && l.counters.closing_aside == 0;
        },
        absl::Seconds(5)));
    RecordProperty("closed_aside_after_us",
                   absl::StrCat(absl::ToInt64Microseconds(absl::Now() - start)));
  }
  done.Notify();
  EXPECT_EQ(attacker.WaitFor(kPatience), ChildProcess::Exited(0));
  SlowestServed(3, "served_after");
}

// The same descriptor sent where the broker reads nothing: a link end's watch socket,
// whose broker side is closed when the end goes.
TEST_P(LingeringDescriptorTest, ThroughAWatchSocketTheBrokerKeepsServingOthers) {
  const bool kernel_guard = GetParam();
  ASSERT_NO_FATAL_FAILURE(
      Start({kernel_guard ? "--kernel-descriptor-guard=on" : "--kernel-descriptor-guard=off"},
            /*descriptor_limit=*/0, "test.attack uid=65534\n"));
  if (broker_ == nullptr) return;
  Shared<LingerAttack> report;
  ProcessEvent attacked, done;
  ChildProcess attacker = ForkAs(
      kNobodyUser, [&] { return AttackThroughAWatchSocket(options_, &*report, &attacked, &done); });
  ASSERT_TRUE(attacked.WaitFor(kPatience)) << report->failed.Get();
  EXPECT_GT(report->unsent_bytes.load(), 0);
  EXPECT_LT(SlowestServed(5, "served_during_watch_attack"), kServedWithin);
  if (report->send_errno.load() == 0) {
    // The watch socket took it (no guard, or no SO_PASSRIGHTS): closed aside, promptly.
    EXPECT_TRUE(Eventually(
        [&] {
          Listing l = List();
          return l.counters.closed_aside >= 1 && l.counters.closing_aside == 0;
        },
        absl::Seconds(5)));
  } else {
    EXPECT_TRUE(kernel_guard);
    EXPECT_EQ(report->send_errno.load(), EPERM);
  }
  done.Notify();
  EXPECT_EQ(attacker.WaitFor(kPatience), ChildProcess::Exited(0));
}

INSTANTIATE_TEST_SUITE_P(Guard, LingeringDescriptorTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "KernelRefuses" : "BrokerDisposes";
                         });

// ---- Out of descriptors. ----------------------------------------------------------------

// The broker runs with 64 descriptors; nobody opens 200 connections. The broker accepts
// what it can and refuses the rest with a notice, then idles: its listening socket does
// not wake it forever. Root's established broker connection is still answered, and once
// nobody leaves, root is served again.
TEST_F(StallTest, AtItsDescriptorLimitTheBrokerRefusesAndDoesNotSpin) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-connections-per-uid", "10000"}, /*descriptors=*/64));
  if (broker_ == nullptr) return;
  UniqueFd established = DialRaw(dir_.SocketPath());  // root's, before the attack
  ASSERT_TRUE(established.valid());
  ProcessEvent holding, release;
  ChildProcess attacker = ForkAs(kNobodyUser, [&] {
    std::vector<UniqueFd> connections;
    for (int i = 0; i < 200; ++i) connections.push_back(DialRaw(dir_.SocketPath()));
    holding.Notify();
    return release.WaitFor(absl::Seconds(60)) ? 0 : 1;
  });
  ASSERT_TRUE(holding.WaitFor(kPatience));
  // Root's new connection queues behind nobody's: its notice says every earlier one has
  // been accepted or refused.
  absl::StatusOr<Listing> refused = ListBrokerAt(dir_.SocketPath());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("out of descriptors"));

  // Idle at the limit: no busy loop on the listening socket.
  absl::Duration cpu_before = CpuTime(broker_->pid());
  absl::SleepFor(absl::Milliseconds(500));  // a measuring window, not a wait for a state
  absl::Duration cpu = CpuTime(broker_->pid()) - cpu_before;
  RecordProperty("broker_cpu_ms_in_500ms_at_the_limit",
                 absl::StrCat(absl::ToInt64Milliseconds(cpu)));
  EXPECT_LT(cpu, absl::Milliseconds(150)) << "the broker spins at its descriptor limit";

  // An established connection is still answered (a connect to no such service needs no
  // descriptor).
  ASSERT_TRUE(SendRaw(established.get(),
                      ControlBytes(ControlType::kConnect, 7, EncodeConnect({.name = "no.such"}))));
  absl::StatusOr<ControlPacket> answer = ReceiveControl(established.get(), Soon());
  ASSERT_TRUE(answer.ok()) << answer.status();
  absl::StatusOr<Answer> decoded = DecodeAnswer(answer->body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status.code(), absl::StatusCode::kNotFound);

  release.Notify();
  EXPECT_EQ(attacker.WaitFor(kPatience), ChildProcess::Exited(0));
  ASSERT_TRUE(Eventually([&] { return ListBrokerAt(dir_.SocketPath()).ok(); }));
  EXPECT_GE(List().counters.out_of_descriptors, 1u);
  EXPECT_LT(SlowestServed(3, "served_after"), kServedWithin);
}

// ---- Per-uid limits. ----------------------------------------------------------------------

struct LimitReport {
  std::atomic<int> connections_opened{0};
  SharedStatus connection_over_limit;
  SharedStatus service_over_limit;
  SharedStatus pending_over_limit;
};

TEST_F(StallTest, OneUserCannotTakeEveryConnectionNameOrPendingConnect) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-connections-per-uid", "8", "--max-services-per-uid", "2",
                                 "--max-pending-connects-per-uid", "2"},
                                /*descriptor_limit=*/0, "test.hog* uid=65534\n"));
  if (broker_ == nullptr) return;
  UniqueFd slow;
  ASSERT_NO_FATAL_FAILURE(RegisterSlowService(slow));

  Shared<LimitReport> report;
  ProcessEvent holding, release;
  ChildProcess hog = ForkAs(kNobodyUser, [&] {
    std::vector<UniqueFd> held;
    // Two services and two pending connects take three connections; five bare ones more.
    std::vector<ServiceRegistration> services;
    for (const char* name : {"test.hog1", "test.hog2"}) {
      absl::StatusOr<ServiceRegistration> s =
          ServiceRegistration::Register(name, AccessPolicy::SameUser(), {}, options_);
      if (s.ok()) services.push_back(*std::move(s));
    }
    report->service_over_limit.Set(
        ServiceRegistration::Register("test.hog3", AccessPolicy::SameUser(), {}, options_)
            .status());
    held.push_back(DialRaw(dir_.SocketPath()));
    for (uint32_t sequence = 1; sequence <= 3; ++sequence) {
      SendRaw(held.back().get(),
              ControlBytes(ControlType::kConnect, sequence, EncodeConnect({.name = "test.slow"})));
    }
    absl::StatusOr<ControlPacket> third = ReceiveControl(held.back().get(), Soon());
    if (third.ok()) {
      absl::StatusOr<Answer> answer = DecodeAnswer(third->body);
      report->pending_over_limit.Set(answer.ok() ? answer->status : answer.status());
    }
    for (int i = 0; i < 5; ++i) held.push_back(DialRaw(dir_.SocketPath()));
    report->connection_over_limit.Set(
        ListBroker({.socket_path = dir_.SocketPath(), .start_broker = false}).status());
    holding.Notify();
    return release.WaitFor(absl::Seconds(60)) ? 0 : 1;
  });
  ASSERT_TRUE(holding.WaitFor(kPatience));
  absl::Status services = report->service_over_limit.Get();
  EXPECT_EQ(services.code(), absl::StatusCode::kResourceExhausted) << services;
  EXPECT_THAT(std::string(services.message()),
              AllOf(HasSubstr("uid 65534"), HasSubstr("2 services")));
  absl::Status pending = report->pending_over_limit.Get();
  EXPECT_EQ(pending.code(), absl::StatusCode::kResourceExhausted) << pending;
  EXPECT_THAT(std::string(pending.message()), HasSubstr("2 connects waiting"));
  absl::Status connections = report->connection_over_limit.Get();
  EXPECT_EQ(connections.code(), absl::StatusCode::kResourceExhausted) << connections;
  EXPECT_THAT(std::string(connections.message()), HasSubstr("8 connections"));

  // Root is not limited, and is served while nobody holds all it may.
  EXPECT_LT(SlowestServed(3, "served_while_limited"), kServedWithin);
  EXPECT_GE(List().counters.over_limit, 3u);
  release.Notify();
  EXPECT_EQ(hog.WaitFor(kPatience), ChildProcess::Exited(0));
}

// A client that leaves before the server answers its connects still has them counted until
// the server answers or they expire: their offers still wait in the server's socket. So
// connecting and leaving in a loop queues no more offers than the limit allows (forgotten,
// they queued until the server's socket filled and the broker dropped the service).
TEST_F(StallTest, ConnectsLeftBehindStillCountAgainstTheirUser) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-pending-connects-per-uid", "2"}));
  if (broker_ == nullptr) return;
  UniqueFd slow;
  ASSERT_NO_FATAL_FAILURE(RegisterSlowService(slow));

  Shared<SharedStatus> third;
  ChildProcess leaver = ForkAs(kNobodyUser, [&] {
    for (int round = 0; round < 3; ++round) {
      UniqueFd connection = DialRaw(dir_.SocketPath());
      // A connect to test.slow, then one to a name nobody serves: its NOT_FOUND comes back
      // at once, after the first was taken.
      SendRaw(connection.get(),
              ControlBytes(ControlType::kConnect, 1, EncodeConnect({.name = "test.slow"})));
      SendRaw(connection.get(),
              ControlBytes(ControlType::kConnect, 2, EncodeConnect({.name = "test.none"})));
      absl::StatusOr<ControlPacket> first = ReceiveControl(connection.get(), Soon());
      if (!first.ok()) return 1;
      if (round < 2) continue;  // the connection closes, its connect to test.slow left behind
      absl::StatusOr<Answer> answer = DecodeAnswer(first->body);
      if (!answer.ok()) return 2;
      third->Set(first->sequence == 1
                     ? answer->status
                     : absl::InternalError(absl::StrCat("the connect to test.slow waits; ",
                                                        answer->status.ToString())));
    }
    return 0;
  });
  EXPECT_EQ(leaver.WaitFor(kPatience), ChildProcess::Exited(0));
  absl::Status status = third->Get();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("2 connects waiting"));
  EXPECT_LT(SlowestServed(3, "served_after_leavers"), kServedWithin);
}

// Each link holds three of the broker's descriptors until both its ends are closed, while
// the client may keep as little as one of its own: links are counted per uid too.
TEST_F(StallTest, OneUserCannotHoldMoreLinksThanItsLimit) {
  ASSERT_NO_FATAL_FAILURE(
      Start({"--max-links-per-uid", "2"}, /*descriptor_limit=*/0, "test.linker uid=65534\n"));
  if (broker_ == nullptr) return;
  struct LinkLimitReport {
    SharedStatus over_limit;
    SharedStatus after_one_closed;
  };
  Shared<LinkLimitReport> report;
  SharedStatus& over_limit = report->over_limit;
  SharedStatus& after_one_closed = report->after_one_closed;
  ChildProcess linker = ForkAs(kNobodyUser, [&] {
    absl::StatusOr<ServiceRegistration> own =
        ServiceRegistration::Register("test.linker", AccessPolicy::SameUser(), {}, options_);
    if (!own.ok()) return 1;
    std::vector<ConnectedPair> links;
    for (int i = 0; i < 2; ++i) {
      links.push_back(ConnectAndAccept(*own, "test.linker", options_));
      if (!links.back().client.ok() || !links.back().server.ok()) return 2;
    }
    over_limit.Set(broker::ConnectToServiceIdentified("test.linker", options_).status());
    links.erase(links.begin());  // both ends of one link closed: it no longer counts
    bool linked = Eventually(
        [&] {
          ConnectedPair pair = ConnectAndAccept(*own, "test.linker", options_);
          after_one_closed.Set(pair.client.status());
          return pair.client.ok();
        },
        kPatience, absl::Milliseconds(20));
    return linked ? 0 : 3;
  });
  EXPECT_EQ(linker.WaitFor(kPatience * 3), ChildProcess::Exited(0));
  absl::Status refused = over_limit.Get();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_THAT(std::string(refused.message()),
              AllOf(HasSubstr("uid 65534"), HasSubstr("2 links"), HasSubstr("max-links-per-uid")));
  EXPECT_TRUE(after_one_closed.Get().ok()) << after_one_closed.Get();
  // Root is not limited.
  EXPECT_LT(SlowestServed(3, "served_with_links_limited"), kServedWithin);
}

// A link whose client closed its end while its server keeps the other counts against the
// server's uid, not the client's: a server that keeps every end it accepts uses up its own
// allowance (and is then refused more links), not its clients'.
TEST_F(StallTest, EndsAServerKeepsCountAgainstTheServerNotItsClients) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-links-per-uid", "2"}, /*descriptor_limit=*/0,
                                "test.hoarder uid=65533\ntest.fair uid=0\n"));
  if (broker_ == nullptr) return;
  ProcessEvent serving;
  ChildProcess hoarder = ForkAs(kSecondUser, [&] {
    AccessPolicy policy;
    policy.allowed_uids.push_back(kNobodyUser.uid);
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register("test.hoarder", policy, {}, options_);
    if (!service.ok()) return 1;
    serving.Notify();
    std::vector<IncomingLink> kept;
    while (true) {
      absl::StatusOr<IncomingLink> incoming = service->Accept(absl::InfiniteFuture());
      if (!incoming.ok()) return 2;
      kept.push_back(*std::move(incoming));
    }
  });
  ASSERT_TRUE(serving.WaitFor(kPatience));
  // Root (not limited) serves test.fair and keeps the links it accepts.
  AccessPolicy fair_policy;
  fair_policy.allowed_uids.push_back(kNobodyUser.uid);
  absl::StatusOr<ServiceRegistration> fair =
      ServiceRegistration::Register("test.fair", fair_policy, {}, options_);
  ASSERT_TRUE(fair.ok()) << fair.status();
  struct Report {
    SharedStatus hoarded;  // the third connect to test.hoarder
    SharedStatus fair[2];  // two links to test.fair, held at once
  };
  Shared<Report> report;
  ProcessEvent closed_two, go_on;
  ChildProcess client = ForkAs(kNobodyUser, [&] {
    for (int i = 0; i < 2; ++i) {
      // Closed again at once; the second still fits this client's allowance while the
      // broker has not yet seen the first end close.
      if (!broker::ConnectToServiceIdentified("test.hoarder", options_).ok()) return 10 + i;
    }
    closed_two.Notify();
    if (!go_on.WaitFor(kPatience)) return 20;
    report->hoarded.Set(broker::ConnectToServiceIdentified("test.hoarder", options_).status());
    // This client's own allowance is whole: two links held at once.
    std::vector<OutgoingLink> held;
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<OutgoingLink> link = broker::ConnectToServiceIdentified("test.fair", options_);
      report->fair[i].Set(link.status());
      if (!link.ok()) return 30 + i;
      held.push_back(*std::move(link));
    }
    return 0;
  });
  std::vector<IncomingLink> fair_kept;
  std::thread fair_server([&] {
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<IncomingLink> incoming = fair->Accept(absl::Now() + kPatience * 4);
      if (!incoming.ok()) return;
      fair_kept.push_back(*std::move(incoming));
    }
  });
  // Once the broker has seen both client ends close, both links count against the hoarder.
  ASSERT_TRUE(closed_two.WaitFor(kPatience));
  EXPECT_TRUE(Eventually(
      [&] {
        int closed = 0;
        for (const LinkListing& link : List().links) {
          closed += link.service == "test.hoarder" && link.closed[0] && !link.closed[1];
        }
        return closed == 2;
      },
      kPatience, absl::Milliseconds(20)));
  go_on.Notify();
  EXPECT_EQ(client.WaitFor(kPatience * 4), ChildProcess::Exited(0));
  fair_server.join();
  absl::Status hoarded = report->hoarded.Get();
  EXPECT_EQ(hoarded.code(), absl::StatusCode::kResourceExhausted) << hoarded;
  EXPECT_THAT(std::string(hoarded.message()),
              AllOf(HasSubstr("test.hoarder"), HasSubstr("uid 65533"), HasSubstr("2 links")));
  EXPECT_TRUE(report->fair[0].Get().ok()) << report->fair[0].Get();
  EXPECT_TRUE(report->fair[1].Get().ok()) << report->fair[1].Get();
  int kept = 0;
  for (const LinkListing& link : List().links) kept += link.service == "test.hoarder";
  EXPECT_EQ(kept, 2);
}

}  // namespace
}  // namespace syslink::broker
