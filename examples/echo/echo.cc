// echo: a syslink service defined in echo.proto, its server and its client.
//
//   echo [demo]            start a server process and call it: the README's demo
//   echo serve             serve until SIGINT/SIGTERM
//   echo say TEXT          one call to a running server
//
// The broker (syslinkd) is started on demand by whichever process needs it first.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "examples/echo/echo.syslink.h"
#include "examples/echo/echo_server.h"
#include "rpc/server.h"
#include "rpc/stop_signals.h"
#include "syslink/broker/client.h"
#include "syslink/status.h"

namespace syslink::examples::echo {
namespace {

using ::syslink::rpc::ClientContext;

constexpr char kUsage[] =
    "usage: echo [demo | serve | say TEXT]\n"
    "\n"
    "  demo      (the default) start an echo server in a second process, then call it:\n"
    "            one call, round trips, a batch of async calls, a 128 KiB attachment,\n"
    "            and the server killed in the middle of calls; prints what it measured\n"
    "  serve     serve the echo service until interrupted\n"
    "  say TEXT  one call to a running echo server\n"
    "\n"
    "The service registers with the syslink broker as \"syslink.examples.echo.Echo\"; a\n"
    "broker is started on demand if none runs ($SYSLINK_BROKER_SOCKET picks its socket).\n";

int Serve() {
  rpc::StopSignals stop;  // before the server's threads start
  EchoServer service;
  rpc::Server server;
  if (absl::Status s = server.ServeBroker(&service); !s.ok()) {
    std::fprintf(stderr, "echo: cannot serve: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "echo: serving %s (pid %d)\n", std::string(Echo::kServiceName).c_str(),
               getpid());
  stop.Wait();
  server.Shutdown();
  return 0;
}

// A stub on a link to the echo service, waiting for a server that is still starting.
absl::StatusOr<EchoStub> Connect(absl::Duration patience) {
  absl::Time give_up = absl::Now() + patience;
  while (true) {
    absl::StatusOr<EchoStub> stub = EchoStub::Connect();
    if (stub.ok() || !absl::IsNotFound(stub.status()) || absl::Now() > give_up) return stub;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

int Say(const std::string& text) {
  absl::StatusOr<EchoStub> stub = Connect(absl::ZeroDuration());
  if (!stub.ok()) {
    std::fprintf(stderr, "echo: %s\n", stub.status().ToString().c_str());
    return 1;
  }
  EchoRequest request;
  request.set_text(text);
  absl::StatusOr<EchoResponse> response = stub->Say(request);
  if (!response.ok()) {
    std::fprintf(stderr, "echo: %s\n", response.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", response->text().c_str());
  return 0;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The demo's steps, each printing what it measured. False when a step failed.
bool SyncCall(EchoStub& stub) {
  EchoRequest request;
  request.set_text("hello over syslink");
  absl::Time start = absl::Now();
  absl::StatusOr<EchoResponse> response = stub.Say(request);
  absl::Duration took = absl::Now() - start;
  if (!response.ok()) return false;
  std::printf("1. sync call:        \"%s\" came back in %s (the first call)\n",
              response->text().c_str(), absl::FormatDuration(took).c_str());
  return true;
}

bool RoundTrips(EchoStub& stub) {
  constexpr int kRounds = 5, kCalls = 20000;
  EchoRequest request;
  request.set_text(std::string(64, 'x'));
  EchoResponse response;
  std::vector<double> per_call_us;
  for (int round = 0; round < kRounds; ++round) {
    absl::Time start = absl::Now();
    for (int i = 0; i < kCalls; ++i) {
      if (!stub.Say(request, &response, nullptr).ok()) return false;
    }
    per_call_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start) / kCalls);
  }
  std::printf("2. round trips:      64-byte echo, median of %d x %d calls: %.2f us a call\n",
              kRounds, kCalls, Median(per_call_us));
  return true;
}

bool AsyncBatch(EchoStub& stub) {
  constexpr int kCalls = 1000;
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoResponse> responses(kCalls);
  int ok = 0;
  absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_text(std::to_string(i));
    stub.SayAsync(requests[i], &responses[i], nullptr, [&ok](absl::Status s) { ok += s.ok(); });
  }
  size_t left = stub.channel().Drain(absl::Now() + absl::Seconds(10));
  absl::Duration took = absl::Now() - start;
  bool all_right = left == 0 && ok == kCalls;
  for (int i = 0; all_right && i < kCalls; ++i)
    all_right = responses[i].text() == requests[i].text();
  std::printf(
      "3. async batch:      %d calls in flight together, all answered in %s "
      "(%.0f calls/s)%s\n",
      kCalls, absl::FormatDuration(took).c_str(), kCalls / absl::ToDoubleSeconds(took),
      all_right ? "" : " -- WRONG ANSWERS");
  return all_right;
}

bool AttachmentRoundTrip(EchoStub& stub) {
  constexpr size_t kBytes = 128 * 1024;
  absl::StatusOr<rpc::Attachment> attachment = stub.channel().AllocateAttachment(kBytes);
  if (!attachment.ok()) return false;
  for (size_t i = 0; i < kBytes; ++i) attachment->data()[i] = static_cast<std::byte>(i * 7);
  ClientContext context;
  context.set_request_attachment(*std::move(attachment));
  EchoRequest request;
  absl::Time start = absl::Now();
  absl::StatusOr<EchoResponse> response = stub.Reverse(request, &context);
  absl::Duration took = absl::Now() - start;
  if (!response.ok()) return false;
  std::span<const std::byte> back = context.response_attachment().data();
  bool right = back.size() == kBytes;
  for (size_t i = 0; right && i < kBytes; ++i) {
    right = back[i] == static_cast<std::byte>((kBytes - 1 - i) * 7);
  }
  std::printf("4. attachment:       128 KiB sent and %s returned reversed, zero-copy, in %s%s\n",
              right ? "correctly" : "INCORRECTLY", absl::FormatDuration(took).c_str(),
              context.request_attachment().size() == kBytes ? " (our buffer is back)" : "");
  return right;
}

bool ServerKilledMidCall(EchoStub& stub, pid_t server) {
  constexpr int kCalls = 8;
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoResponse> responses(kCalls);
  std::vector<ClientContext> contexts(kCalls);
  int peer_died = 0, other = 0;
  for (int i = 0; i < kCalls; ++i) {
    contexts[i].set_timeout(absl::Seconds(30));
    stub.HoldAsync(requests[i], &responses[i], &contexts[i],
                   [&](absl::Status s) { (IsPeerDied(s) ? peer_died : other) += 1; });
  }
  absl::SleepFor(absl::Milliseconds(50));  // the server now holds the first call
  absl::Time killed = absl::Now();
  kill(server, SIGKILL);
  size_t left = stub.channel().Drain(absl::Now() + absl::Seconds(10));
  absl::Duration took = absl::Now() - killed;
  std::printf(
      "5. server killed:    %d calls in flight; after kill -9 all %d completed with "
      "UNAVAILABLE (PEER_DIED) in %s%s\n",
      kCalls, peer_died, absl::FormatDuration(took).c_str(),
      left == 0 && other == 0 ? "" : " -- SOME DID NOT");
  return left == 0 && peer_died == kCalls;
}

int Demo() {
  pid_t server = fork();
  if (server < 0) {
    std::perror("echo: fork");
    return 1;
  }
  if (server == 0) _exit(Serve());
  absl::StatusOr<EchoStub> stub = Connect(absl::Seconds(10));
  if (!stub.ok()) {
    std::fprintf(stderr, "echo: %s\n", stub.status().ToString().c_str());
    kill(server, SIGKILL);
    return 1;
  }
  absl::StatusOr<broker::Listing> listing = broker::ListBroker({.start_broker = false});
  std::printf("echo demo: server pid %d, client pid %d, broker (syslinkd) pid %d\n\n", server,
              getpid(), listing.ok() ? listing->broker_pid : 0);
  bool ok = SyncCall(*stub) && RoundTrips(*stub) && AsyncBatch(*stub) &&
            AttachmentRoundTrip(*stub) && ServerKilledMidCall(*stub, server);
  waitpid(server, nullptr, 0);
  std::printf("\n%s\n", ok ? "echo demo: all steps passed" : "echo demo: a step FAILED");
  std::printf(
      "(the broker stays for later clients, `syslinkctl` shows it, and it leaves "
      "after a minute with none)\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace syslink::examples::echo

int main(int argc, char** argv) {
  using namespace syslink::examples::echo;
  std::string mode = argc > 1 ? argv[1] : "demo";
  if (mode == "--help" || mode == "-h" || mode == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (mode == "demo" && argc <= 2) return Demo();
  if (mode == "serve" && argc == 2) return Serve();
  if (mode == "say" && argc == 3) return Say(argv[2]);
  std::fprintf(stderr, "echo: bad arguments\n\n%s", kUsage);
  return 2;
}
