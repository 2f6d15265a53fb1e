// Processes that die around a real syslinkd: a server killed with calls in flight, a
// client killed while its server holds its request, and the broker itself killed and
// restarted while calls go on. Real processes, real kill -9.
//
// Every actor is a forked child that reports through its exit code (ChildExit) and a
// Shared<> report; the test process only starts brokers, kills and checks. The brokers are
// //syslink/broker:syslinkd run by the test (tests/support/broker_process.h), except where
// a test says it relies on the embedded auto-start.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <set>
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
#include "syslink/link.h"
#include "syslink/status.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::Eventually;
using ::syslink::testing::kPatience;
using ::syslink::testing::ListBrokerAt;
using ::syslink::testing::ScratchDirectory;
using ::syslink::testing::Shared;
using ::syslink::testing::Soon;
using ::testing::HasSubstr;

// How long a child waits for the test process before giving up.
constexpr absl::Duration kChildPatience = absl::Seconds(30);

// Exit codes of a forked child, so that a failure says where it happened.
enum ChildExit : int {
  kOk = 0,
  kRegisterFailed = 10,
  kAcceptFailed = 11,
  kConnectFailed = 12,
  kSendFailed = 13,
  kReceiveFailed = 14,
  kNotARequest = 15,
  kNotAReply = 16,
  kNotPeerDied = 17,
  kUnknownReply = 18,
  kDuplicateReply = 19,
  kLinkStayedOpen = 20,
  kSecondConnectFailed = 21,
  kCallFailed = 22,
  kWrongReply = 23,
  kRepliesDoNotAddUp = 24,
  kServeFailed = 25,
  kTestProcessGone = 26,
};

// Whether the broker at `socket_path` lists service `name`, waiting up to kPatience.
bool AwaitService(const std::string& socket_path, const std::string& name) {
  return Eventually([&] {
    absl::StatusOr<Listing> listing = ListBrokerAt(socket_path, absl::Milliseconds(200));
    if (!listing.ok()) return false;
    return std::any_of(listing->services.begin(), listing->services.end(),
                       [&](const ServiceListing& s) { return s.name == name; });
  });
}

void CopyText(absl::string_view text, char* out, size_t size) {
  size_t n = std::min(text.size(), size - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

// Sleeps until one of `links` may have something for Receive(), or `timeout` passes
// (the event-loop protocol of Link::PrepareToPoll).
void AwaitAnyLink(std::vector<Link>& links, int extra_fd, absl::Duration timeout) {
  std::vector<pollfd> fds;
  for (Link& link : links) {
    if (!link.PrepareToPoll()) return;  // something is waiting already
    fds.push_back({link.fd(), POLLIN, 0});
  }
  fds.push_back({extra_fd, POLLIN, 0});  // a negative fd is ignored by poll()
  poll(fds.data(), fds.size(), static_cast<int>(absl::ToInt64Milliseconds(timeout)));
}

// Serves `service` until `*stop`: echoes every request on every link, drops links whose
// client went away, and accepts new links. When the broker goes away, Accept() reconnects
// and registers again; while no broker answers it fails with UNAVAILABLE, and is tried
// again every 50 ms (each try blocks for up to 10 ms, during which no call is served).
int EchoUntilStopped(ServiceRegistration& service, const std::atomic<int>* stop) {
  std::vector<Link> links;
  absl::Time give_up = absl::Now() + 3 * kChildPatience;
  absl::Time next_reconnect = absl::InfinitePast();
  while (stop->load() == 0) {
    if (absl::Now() > give_up) return kTestProcessGone;
    bool broker_gone = service.fd() < 0;
    AwaitAnyLink(links, service.fd(), absl::Milliseconds(broker_gone ? 5 : 20));
    for (auto it = links.begin(); it != links.end();) {
      bool closed = false;
      while (true) {
        absl::StatusOr<Message> request = it->Receive(absl::InfinitePast());
        if (!request.ok()) {
          closed = !absl::IsDeadlineExceeded(request.status());
          break;
        }
        if (request->kind != MessageKind::kRequest) return kNotARequest;
        // A client may die between its request and this reply; the reply is then lost.
        (void)it->Reply(request->id, absl::OkStatus(), request->data);
      }
      it = closed ? links.erase(it) : it + 1;
    }
    pollfd registration = {service.fd(), POLLIN, 0};
    bool try_accept = broker_gone ? absl::Now() >= next_reconnect : poll(&registration, 1, 0) > 0;
    if (!try_accept) continue;
    absl::StatusOr<IncomingLink> incoming = service.Accept(absl::Now() + absl::Milliseconds(10));
    if (incoming.ok()) {
      links.push_back(std::move(incoming->link));
    } else if (absl::IsUnavailable(incoming.status())) {
      next_reconnect = absl::Now() + absl::Milliseconds(50);
    } else if (!absl::IsDeadlineExceeded(incoming.status())) {
      return kAcceptFailed;
    }
  }
  return kOk;
}

// A child that registers `name` and echoes until `*stop`.
ChildProcess ForkEchoServer(const std::string& name, const BrokerConnectOptions& options,
                            const std::atomic<int>* stop) {
  return ChildProcess::Fork([=]() -> int {
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register(name, AccessPolicy::SameUser(), {}, options);
    if (!service.ok()) return kRegisterFailed;
    return EchoUntilStopped(*service, stop);
  });
}

// One call that must come back OK with its payload echoed.
bool EchoCall(Link& link, absl::string_view payload) {
  absl::StatusOr<Message> reply = link.Call(2, AsBytes(payload), {}, Soon());
  return reply.ok() && reply->status.ok() && reply->DataAsString() == payload;
}

// ---- A server killed with calls in flight. ------------------------------------------

constexpr int kClients = 4;
constexpr int kCallsPerClient = 64;

struct ServerDeathReport {
  std::atomic<int> requests_received{0};
  std::atomic<int> clients_waiting{0};
  std::atomic<int> echo_stop{0};
  std::atomic<int64_t> first_completion_ns[kClients];
  std::atomic<int64_t> last_completion_ns[kClients];
};

// Accepts kClients links, takes every request and never answers, until killed.
int StuckServer(const BrokerConnectOptions& options, ServerDeathReport* report) {
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.stuck", AccessPolicy::SameUser(), {}, options);
  if (!service.ok()) return kRegisterFailed;
  std::vector<Link> links;
  for (int i = 0; i < kClients; ++i) {
    absl::StatusOr<IncomingLink> incoming = service->Accept(absl::Now() + kChildPatience);
    if (!incoming.ok()) return kAcceptFailed;
    links.push_back(std::move(incoming->link));
  }
  absl::Time give_up = absl::Now() + kChildPatience;
  while (report->requests_received.load() < kClients * kCallsPerClient) {
    if (absl::Now() > give_up) return kReceiveFailed;
    AwaitAnyLink(links, -1, absl::Milliseconds(100));
    for (Link& link : links) {
      while (true) {
        absl::StatusOr<Message> request = link.Receive(absl::InfinitePast());
        if (!request.ok()) {
          if (absl::IsDeadlineExceeded(request.status())) break;
          return kReceiveFailed;
        }
        if (request->kind != MessageKind::kRequest) return kNotARequest;
        report->requests_received.fetch_add(1);
      }
    }
  }
  while (true) pause();  // holds every request, unanswered, until killed
}

// Sends kCallsPerClient requests to test.stuck, then takes their replies: each exactly once,
// each PEER_DIED. Then calls test.echo.
int ClientOfTheStuckServer(int index, const BrokerConnectOptions& options,
                           ServerDeathReport* report) {
  absl::StatusOr<Link> link = ConnectToService("test.stuck", options);
  if (!link.ok()) return kConnectFailed;
  std::set<uint64_t> sent;
  for (int i = 0; i < kCallsPerClient; ++i) {
    absl::StatusOr<uint64_t> id = link->Send(1, AsBytes(absl::StrCat("request ", i)));
    if (!id.ok()) return kSendFailed;
    sent.insert(*id);
  }
  report->clients_waiting.fetch_add(1);
  std::set<uint64_t> completed;
  for (int i = 0; i < kCallsPerClient; ++i) {
    absl::StatusOr<Message> reply = link->Receive(absl::Now() + kChildPatience);
    if (!reply.ok()) return kReceiveFailed;
    if (i == 0) report->first_completion_ns[index].store(absl::ToUnixNanos(absl::Now()));
    if (reply->kind != MessageKind::kReply) return kNotAReply;
    if (!IsPeerDied(reply->status)) return kNotPeerDied;
    if (!sent.contains(reply->id)) return kUnknownReply;
    if (!completed.insert(reply->id).second) return kDuplicateReply;
  }
  report->last_completion_ns[index].store(absl::ToUnixNanos(absl::Now()));
  // Nothing more comes (no second reply to anything); the link says why it closed.
  absl::StatusOr<Message> extra = link->Receive(absl::Now() + absl::Seconds(5));
  if (extra.ok()) return kDuplicateReply;
  if (!IsPeerDied(extra.status())) return kLinkStayedOpen;
  absl::StatusOr<Link> second = ConnectToService("test.echo", options);
  if (!second.ok()) return kSecondConnectFailed;
  return EchoCall(*second, absl::StrCat("client ", index, " lives on")) ? kOk : kCallFailed;
}

TEST(ServerDeathTest, CallsInFlightFromFourClientsCompleteOnceWithPeerDied) {
  ScratchDirectory dir("srvdeath");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  BrokerConnectOptions options = (*broker)->ConnectOptions();
  Shared<ServerDeathReport> report;

  ChildProcess stuck = ChildProcess::Fork([&] { return StuckServer(options, &*report); });
  ChildProcess echo = ForkEchoServer("test.echo", options, &report->echo_stop);
  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.stuck"));
  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.echo"));
  std::vector<ChildProcess> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(
        ChildProcess::Fork([&, i] { return ClientOfTheStuckServer(i, options, &*report); }));
  }
  ASSERT_TRUE(Eventually([&] {
    return report->requests_received.load() == kClients * kCallsPerClient &&
           report->clients_waiting.load() == kClients;
  })) << report->requests_received.load()
      << " requests received";

  absl::Time killed = absl::Now();
  stuck.Kill(SIGKILL);
  EXPECT_EQ(stuck.Wait(), ChildProcess::KilledBy(SIGKILL));
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(clients[i].WaitFor(absl::Seconds(30)), ChildProcess::Exited(kOk)) << "client " << i;
    int64_t first = report->first_completion_ns[i].load();
    int64_t last = report->last_completion_ns[i].load();
    if (last == 0) continue;
    absl::Duration to_first = absl::FromUnixNanos(first) - killed;
    absl::Duration to_last = absl::FromUnixNanos(last) - killed;
    RecordProperty(absl::StrCat("client", i, "_death_to_first_completion_us"),
                   absl::StrCat(absl::ToInt64Microseconds(to_first)));
    RecordProperty(absl::StrCat("client", i, "_death_to_all_64_completed_us"),
                   absl::StrCat(absl::ToInt64Microseconds(to_last)));
    EXPECT_LT(to_last, absl::Seconds(5)) << "client " << i;  // a hang, not a slow machine
  }
  report->echo_stop.store(1);
  EXPECT_EQ(echo.WaitFor(kPatience), ChildProcess::Exited(kOk));

  absl::StatusOr<Listing> listing = ListBrokerAt(dir.SocketPath());
  ASSERT_TRUE(listing.ok()) << listing.status();
  RecordProperty("broker_synthetic_replies", absl::StrCat(listing->counters.synthetic_replies));
  EXPECT_LE(listing->counters.synthetic_replies, uint64_t{kClients * kCallsPerClient});
  for (const ServiceListing& service : listing->services) {
    EXPECT_NE(service.name, "test.stuck") << "a dead server's service is still listed";
  }
  EXPECT_EQ((*broker)->Stop(), ChildProcess::Exited(0));
}

// ---- A client killed while its server holds its request. ------------------------------

struct ClientDeathReport {
  std::atomic<int> holding_request{0};
  std::atomic<int> client_dead{0};
  std::atomic<int> given_up_while_alive{-1};  // the held request's RequestWatch
  std::atomic<int> given_up_after_death{-1};
  std::atomic<int> receive_code{-1};  // Receive() on the dead client's link, if asked
  std::atomic<int> receive_peer_died{0};
  std::atomic<int> reply_code{-1};  // Reply() to the dead client's request
  std::atomic<int> reply_peer_died{0};
  char reply_message[512];
  std::atomic<int> stop{0};
};

// Takes one request from the first client, waits until the test process killed that
// client, replies to it (after a Receive() if `receive_first`), then echoes for others.
int ServerThatOutlivesItsClient(const BrokerConnectOptions& options, bool receive_first,
                                ClientDeathReport* report) {
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register("test.holder", AccessPolicy::SameUser(), {}, options);
  if (!service.ok()) return kRegisterFailed;
  absl::StatusOr<IncomingLink> victim = service->Accept(absl::Now() + kChildPatience);
  if (!victim.ok()) return kAcceptFailed;
  absl::StatusOr<Message> request = victim->link.Receive(absl::Now() + kChildPatience);
  if (!request.ok()) return kReceiveFailed;
  if (request->kind != MessageKind::kRequest) return kNotARequest;
  uint64_t id = request->id;
  RequestWatch watch = victim->link.Watch(*request);
  report->given_up_while_alive.store(watch.given_up() ? 1 : 0);
  report->holding_request.store(1);
  if (!Eventually([&] { return report->client_dead.load() != 0; }, kChildPatience)) {
    return kTestProcessGone;
  }
  // Asked before anything on the link reports the death: only the broker can tell.
  report->given_up_after_death.store(
      Eventually([&] { return watch.given_up(); }, absl::Seconds(5)) ? 1 : 0);
  if (receive_first) {
    absl::StatusOr<Message> next = victim->link.Receive(absl::Now() + absl::Seconds(5));
    report->receive_code.store(static_cast<int>(next.status().code()));
    report->receive_peer_died.store(IsPeerDied(next.status()) ? 1 : 0);
  }
  absl::Status replied = victim->link.Reply(id, absl::OkStatus(), AsBytes("too late"));
  CopyText(replied.ToString(), report->reply_message, sizeof(report->reply_message));
  report->reply_peer_died.store(IsPeerDied(replied) ? 1 : 0);
  report->reply_code.store(static_cast<int>(replied.code()));
  return EchoUntilStopped(*service, &report->stop);
}

// The scenario of both ClientDeathTest cases: a client killed while the server holds its
// request, then a new client served. What the server saw goes into `report`.
void KillAClientMidCall(bool receive_first, ClientDeathReport* report) {
  ScratchDirectory dir("clideath");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();
  BrokerConnectOptions options = (*broker)->ConnectOptions();
  ChildProcess server = ChildProcess::Fork(
      [&] { return ServerThatOutlivesItsClient(options, receive_first, report); });
  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.holder"));
  ChildProcess victim = ChildProcess::Fork([&] {
    absl::StatusOr<Link> link = ConnectToService("test.holder", options);
    if (!link.ok()) return kConnectFailed;
    (void)link->Call(1, AsBytes("hold this"), {}, absl::Now() + kChildPatience);
    return kCallFailed;  // it should have been killed first
  });
  ASSERT_TRUE(Eventually([&] { return report->holding_request.load() != 0; }));
  victim.Kill(SIGKILL);
  EXPECT_EQ(victim.Wait(), ChildProcess::KilledBy(SIGKILL));
  report->client_dead.store(1);
  ASSERT_TRUE(Eventually([&] { return report->reply_code.load() != -1; }));

  // The server keeps serving: a new client's call completes.
  absl::StatusOr<Link> next = ConnectToService("test.holder", options);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(EchoCall(*next, "served after the death"));
  next->Close();
  report->stop.store(1);
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
  EXPECT_EQ((*broker)->Stop(), ChildProcess::Exited(0));
}

TEST(ClientDeathTest, ReplyToAKilledClientFailsWithPeerDied) {
  Shared<ClientDeathReport> report;
  KillAClientMidCall(/*receive_first=*/false, &*report);
  EXPECT_NE(report->reply_code.load(), static_cast<int>(absl::StatusCode::kOk))
      << "Reply() to a client that was killed and reaped succeeded";
  EXPECT_TRUE(report->reply_peer_died.load()) << report->reply_message;
}

TEST(ClientDeathTest, ReplyAfterReceiveReportedTheDeathFailsWithPeerDied) {
  Shared<ClientDeathReport> report;
  KillAClientMidCall(/*receive_first=*/true, &*report);
  EXPECT_TRUE(report->receive_peer_died.load())
      << "Receive() status code " << report->receive_code.load();
  EXPECT_EQ(report->reply_code.load(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(report->reply_peer_died.load()) << report->reply_message;
}

TEST(ClientDeathTest, WatchOfAKilledClientsRequestTurnsGivenUp) {
  Shared<ClientDeathReport> report;
  KillAClientMidCall(/*receive_first=*/false, &*report);
  EXPECT_EQ(report->given_up_while_alive.load(), 0) << "given up while the client waited";
  EXPECT_EQ(report->given_up_after_death.load(), 1)
      << "the broker did not mark the killed client's request given up";
}

// ---- The broker killed and restarted while calls go on. ------------------------------

struct BrokerDeathReport {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> slowest_call_us{0};
  std::atomic<int> client_stop{0};
  std::atomic<int> server_stop{0};
  char failure[512];
};

// Calls test.loop over one link until told to stop; every call must come back with its
// own payload, and at the end every request must have had exactly one reply.
int LoopingClient(const BrokerConnectOptions& options, BrokerDeathReport* report) {
  absl::StatusOr<Link> link = ConnectToService("test.loop", options);
  if (!link.ok()) return kConnectFailed;
  int64_t n = 0;
  absl::Time give_up = absl::Now() + 3 * kChildPatience;
  while (report->client_stop.load() == 0 && absl::Now() < give_up) {
    std::string payload = absl::StrCat("call ", n);
    absl::Time start = absl::Now();
    absl::StatusOr<Message> reply = link->Call(3, AsBytes(payload), {}, Soon());
    if (!reply.ok() || !reply->status.ok()) {
      CopyText(
          absl::StrCat(payload, ": ", (reply.ok() ? reply->status : reply.status()).ToString()),
          report->failure, sizeof(report->failure));
      return kCallFailed;
    }
    if (reply->DataAsString() != payload) return kWrongReply;
    int64_t us = absl::ToInt64Microseconds(absl::Now() - start);
    if (us > report->slowest_call_us.load()) report->slowest_call_us.store(us);
    report->calls.store(++n);
  }
  LinkStats stats = link->stats();
  if (stats.requests_sent != static_cast<uint64_t>(n) ||
      stats.replies_received != static_cast<uint64_t>(n) || stats.outstanding != 0 ||
      stats.synthetic_replies != 0 || stats.late_replies_dropped != 0) {
    return kRepliesDoNotAddUp;
  }
  return kOk;
}

// Waits for `more` calls beyond the current count.
bool AwaitMoreCalls(const BrokerDeathReport& report, int64_t more) {
  int64_t target = report.calls.load() + more;
  return Eventually([&] { return report.calls.load() >= target; });
}

// A broker that takes no connection (stuck, its backlog full): a client gives up at its
// deadline with UNAVAILABLE saying so, instead of waiting in connect() for good.
TEST(BrokerDeathTest, AClientGivesUpOnABrokerThatTakesNoConnection) {
  ScratchDirectory dir("brkstuck");
  UniqueFd stuck(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(stuck.valid());
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  const std::string path = dir.SocketPath();
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(stuck.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(stuck.get(), 0), 0);
  // Connections nobody accepts, until the backlog is full.
  std::vector<UniqueFd> queued;
  bool full = false;
  for (int i = 0; i < 16 && !full; ++i) {
    UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ASSERT_TRUE(fd.valid());
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ASSERT_EQ(errno, EAGAIN) << std::strerror(errno);
      full = true;
    }
    queued.push_back(std::move(fd));
  }
  ASSERT_TRUE(full);
  // In a child: a client stuck in connect() could not be stopped from this process.
  ChildProcess client = ChildProcess::Fork([&] {
    absl::StatusOr<Link> link = ConnectToService(
        "test.anything",
        {.socket_path = path, .start_broker = false, .timeout = absl::Milliseconds(300)});
    if (link.ok()) return 1;
    if (!absl::IsUnavailable(link.status())) return 2;
    return absl::StrContains(link.status().message(), "takes no connection") ? 0 : 3;
  });
  EXPECT_EQ(client.WaitFor(kPatience), ChildProcess::Exited(0));
}

TEST(BrokerDeathTest, LinksOutliveAKilledBrokerAndServersReRegisterWithTheNextOne) {
  ScratchDirectory dir("brkdeath");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> first = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(first.ok()) << first.status();
  BrokerConnectOptions options = (*first)->ConnectOptions();
  Shared<BrokerDeathReport> report;
  ChildProcess server = ForkEchoServer("test.loop", options, &report->server_stop);
  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.loop"));
  ChildProcess client = ChildProcess::Fork([&] { return LoopingClient(options, &*report); });
  ASSERT_TRUE(AwaitMoreCalls(*report, 200)) << report->failure;

  (*first)->Kill();
  int64_t calls_at_death = report->calls.load();
  ASSERT_TRUE(AwaitMoreCalls(*report, 200)) << "calls stopped with the broker: " << report->failure;
  absl::StatusOr<Link> refused = ConnectToService(
      "test.loop",
      {.socket_path = dir.SocketPath(), .start_broker = false, .timeout = absl::Milliseconds(100)});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();

  absl::Time restarted = absl::Now();
  absl::StatusOr<std::unique_ptr<BrokerProcess>> second = BrokerProcess::Start(dir.SocketPath());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.loop"))
      << "the server did not register again with the new broker";
  RecordProperty("reregistered_after_restart_us",
                 absl::StrCat(absl::ToInt64Microseconds(absl::Now() - restarted)));
  RecordProperty("calls_while_no_broker_ran", absl::StrCat(report->calls.load() - calls_at_death));
  absl::StatusOr<Link> newcomer = ConnectToService("test.loop", options);
  ASSERT_TRUE(newcomer.ok()) << newcomer.status();
  EXPECT_TRUE(EchoCall(*newcomer, "a new client after the restart"));
  newcomer->Close();
  ASSERT_TRUE(AwaitMoreCalls(*report, 200)) << report->failure;

  report->client_stop.store(1);
  EXPECT_EQ(client.WaitFor(kPatience), ChildProcess::Exited(kOk)) << report->failure;
  RecordProperty("calls", absl::StrCat(report->calls.load()));
  RecordProperty("slowest_call_us", absl::StrCat(report->slowest_call_us.load()));
  report->server_stop.store(1);
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
  EXPECT_EQ((*second)->Stop(), ChildProcess::Exited(0));
}

// The same with no syslinkd of the test's: the server's first Register() starts the
// embedded broker, and after that broker is killed its next Accept() starts another.
TEST(BrokerDeathTest, ServerStartsANewBrokerWhenItsAutoStartedOneIsKilled) {
  ScratchDirectory dir("autodeath");
  syslink::testing::AutoStartedBrokers cleanup(dir.SocketPath());
  BrokerConnectOptions options{
      .socket_path = dir.SocketPath(), .start_broker = true, .timeout = kPatience};
  Shared<BrokerDeathReport> report;
  ChildProcess server = ForkEchoServer("test.loop", options, &report->server_stop);
  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.loop"));
  ChildProcess client = ChildProcess::Fork([&] { return LoopingClient(options, &*report); });
  ASSERT_TRUE(AwaitMoreCalls(*report, 200)) << report->failure;

  absl::StatusOr<Listing> before = ListBrokerAt(dir.SocketPath());
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(kill(before->broker_pid, SIGKILL), 0);
  ASSERT_TRUE(syslink::testing::WaitUntilGone(before->broker_pid, kPatience));
  ASSERT_TRUE(AwaitMoreCalls(*report, 200)) << report->failure;

  ASSERT_TRUE(AwaitService(dir.SocketPath(), "test.loop"));
  absl::StatusOr<Listing> after = ListBrokerAt(dir.SocketPath());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->broker_pid, before->broker_pid);
  absl::StatusOr<Link> newcomer = ConnectToService("test.loop", options);
  ASSERT_TRUE(newcomer.ok()) << newcomer.status();
  EXPECT_TRUE(EchoCall(*newcomer, "a new client after the restart"));
  newcomer->Close();

  report->client_stop.store(1);
  EXPECT_EQ(client.WaitFor(kPatience), ChildProcess::Exited(kOk)) << report->failure;
  report->server_stop.store(1);
  EXPECT_EQ(server.WaitFor(kPatience), ChildProcess::Exited(kOk));
  ASSERT_EQ(kill(after->broker_pid, SIGTERM), 0);
  EXPECT_TRUE(syslink::testing::WaitUntilGone(after->broker_pid, kPatience));
}

}  // namespace
}  // namespace syslink::broker
