// The broker's costs, against a real syslinkd process:
//
//   bazel run --config=opt //syslink/broker:broker_benchmark
//
//   BM_ConnectByName   ConnectToService() to a registered service, the link then dropped
//   (after the benchmarks) death to auto-reply: a server holding 8 unanswered requests is
//   killed with SIGKILL; the time from the kill until the client has all 8 PEER_DIED
//   replies, over many deaths, as p50/p99.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "syslink/broker/client.h"
#include "syslink/status.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink::broker {
namespace {

using ::syslink::testing::ChildProcess;

BrokerConnectOptions& Options() {
  static BrokerConnectOptions options = [] {
    BrokerConnectOptions o;
    o.socket_path = absl::StrCat("/tmp/sl-broker-bench-", getpid(), "/broker.sock");
    return o;
  }();
  return options;
}

// A server process that registers `name` and accepts links for ever, holding each until
// the next arrives.
ChildProcess StartAcceptor(const std::string& name) {
  return ChildProcess::Fork([name] {
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register(name, AccessPolicy::SameUser(), {}, Options());
    if (!service.ok()) return 1;
    while (true) {
      absl::StatusOr<IncomingLink> incoming = service->Accept(absl::InfiniteFuture());
      if (!incoming.ok()) return 2;
    }
  });
}

void BM_ConnectByName(benchmark::State& state) {
  ChildProcess server = StartAcceptor("bench.connect");
  // Wait for the registration.
  while (!ConnectToService("bench.connect", Options()).ok()) absl::SleepFor(absl::Milliseconds(1));
  for (auto _ : state) {
    absl::StatusOr<Link> link = ConnectToService("bench.connect", Options());
    if (!link.ok()) {
      state.SkipWithError("connect failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConnectByName)->UseRealTime();

struct DeathLatencies {
  std::vector<double> millis;
  int failures = 0;
};

// One death: a server that received 8 requests is killed; how long until all 8 answered.
void MeasureOneDeath(int round, DeathLatencies& out) {
  constexpr int kRequests = 8;
  std::string name = absl::StrCat("bench.death.", round);
  int ready[2];
  if (pipe(ready) != 0) return;
  ChildProcess server = ChildProcess::Fork([&] {
    absl::StatusOr<ServiceRegistration> service =
        ServiceRegistration::Register(name, AccessPolicy::SameUser(), {}, Options());
    if (!service.ok()) return 1;
    absl::StatusOr<IncomingLink> incoming = service->Accept(absl::Now() + absl::Seconds(10));
    if (!incoming.ok()) return 2;
    for (int i = 0; i < kRequests; ++i) {
      if (!incoming->link.Receive(absl::Now() + absl::Seconds(10)).ok()) return 3;
    }
    char byte = 1;
    if (write(ready[1], &byte, 1) != 1) return 4;
    while (true) pause();
  });
  close(ready[1]);
  absl::StatusOr<Link> link;
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!(link = ConnectToService(name, Options())).ok() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));  // until the server has registered
  }
  char byte;
  bool sent = link.ok();
  for (int i = 0; sent && i < kRequests; ++i) sent = link->Send(1, AsBytes("x")).ok();
  if (!sent || read(ready[0], &byte, 1) != 1) {
    ++out.failures;
    close(ready[0]);
    return;
  }
  close(ready[0]);
  absl::Time killed = absl::Now();
  server.Kill(SIGKILL);
  int answered = 0;
  while (answered < kRequests) {
    absl::StatusOr<Message> reply = link->Receive(absl::Now() + absl::Seconds(10));
    if (!reply.ok() || !IsPeerDied(reply->status)) break;
    ++answered;
  }
  if (answered < kRequests) {
    ++out.failures;
    return;
  }
  out.millis.push_back(absl::ToDoubleMilliseconds(absl::Now() - killed));
  server.Wait();
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * (values.size() - 1))];
}

}  // namespace
}  // namespace syslink::broker

int main(int argc, char** argv) {
  using namespace syslink::broker;
  if (!StartBroker(Options().socket_path).ok()) return 1;
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  DeathLatencies deaths;
  for (int round = 0; round < 200; ++round) MeasureOneDeath(round, deaths);
  std::printf("\n");
  if (double rate = medians.Get("BM_ConnectByName/real_time").items_per_second; rate > 0) {
    std::printf("connects by name: %.0f/s (%.0f us each)\n", rate, 1e6 / rate);
  }
  absl::StatusOr<Listing> listing = ListBroker(Options());
  if (!deaths.millis.empty()) {
    std::printf(
        "death to auto-reply (8 requests outstanding): p50 %.2f ms, p99 %.2f ms over %zu "
        "deaths, %d failed; the broker wrote %llu synthetic replies\n",
        Percentile(deaths.millis, 0.5), Percentile(deaths.millis, 0.99), deaths.millis.size(),
        deaths.failures,
        listing.ok() ? static_cast<unsigned long long>(listing->counters.synthetic_replies) : 0ULL);
  }
  if (listing.ok()) kill(listing->broker_pid, SIGTERM);
  std::filesystem::remove_all(std::filesystem::path(Options().socket_path).parent_path());
  return deaths.failures == 0 ? 0 : 1;
}
