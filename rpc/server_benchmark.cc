// What idle links cost a server, measured on a real server process:
//
//   bazel run --config=opt //rpc:server_benchmark
//
//   BM_IdleLinks/small/1000   1,000 links (16 KiB rings, 64 KiB arenas) made through a
//                             broker of the benchmark's own, each called once, then idle
//   BM_IdleLinks/default/100  100 links with the default LinkOptions (256 KiB rings, 4 MiB
//                             arenas)
//
// For each: the server's threads and descriptors with the links open, and its resident
// memory per link, split as /proc/PID/status does: shared memory (the pages of the links'
// regions the server touched, which the client maps too: the floor) and everything else
// (what the server spends beyond the regions). Descriptors and memory are the difference
// from the same server before the links; threads are all the server process has.

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/broker/client.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink::rpc {
namespace {

using ::syslink::testing::ChildProcess;

constexpr char kService[] = "syslink.bench.Idle";
constexpr Method kPing{MethodId("syslink.bench.Idle.Ping"), "/syslink.bench.Idle/Ping",
                       MethodKind::kUnary};

// Answers every call with an empty response.
class IdleService : public Service {
 public:
  absl::string_view service_name() const override { return kService; }
  absl::Status Dispatch(ServerCall& call) override { return absl::OkStatus(); }
};

broker::BrokerConnectOptions& BrokerOptions() {
  static broker::BrokerConnectOptions options = [] {
    broker::BrokerConnectOptions o;
    o.socket_path = absl::StrCat("/tmp/sl-server-bench-", getpid(), "/broker.sock");
    return o;
  }();
  return options;
}

// /proc/PID/status fields, in kB (or a count for Threads).
std::map<std::string, double> Status(pid_t pid) {
  std::map<std::string, double> fields;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    if (key == "Threads" || key == "RssAnon" || key == "RssFile" || key == "RssShmem") {
      fields[key] = std::stod(line.substr(colon + 1));
    }
  }
  return fields;
}

double Descriptors(pid_t pid) {
  double count = 0;
  if (DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str())) {
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
    count -= 2;  // . and ..
  }
  return count;
}

// Waits until the server's thread count has not changed for 100 ms (threads that served
// the calls end once idle), at most 5 s.
void SettleThreads(pid_t pid) {
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  absl::Time stable_since = absl::Now();
  double threads = Status(pid)["Threads"];
  while (absl::Now() < give_up && absl::Now() - stable_since < absl::Milliseconds(100)) {
    absl::SleepFor(absl::Milliseconds(10));
    double now = Status(pid)["Threads"];
    if (now != threads) stable_since = absl::Now();
    threads = now;
  }
}

void BM_IdleLinks(benchmark::State& state, LinkOptions link_options) {
  const int links = static_cast<int>(state.range(0));
  int ready[2];
  if (pipe(ready) != 0) {
    state.SkipWithError("pipe");
    return;
  }
  std::string name = absl::StrCat(kService, ".", link_options.ring_capacity);
  const broker::BrokerConnectOptions& broker_options = BrokerOptions();  // the parent's path
  ChildProcess server = ChildProcess::Fork([&] {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    IdleService service;
    Server server;
    if (!server
             .ServeBroker(&service, {.name = name, .link = link_options, .broker = broker_options})
             .ok()) {
      return 1;
    }
    char byte = 1;
    if (write(ready[1], &byte, 1) != 1) return 2;
    while (true) pause();
  });
  close(ready[1]);
  char byte;
  if (read(ready[0], &byte, 1) != 1) {
    state.SkipWithError("the server did not start");
    close(ready[0]);
    return;
  }
  close(ready[0]);
  SettleThreads(server.pid());
  std::map<std::string, double> before = Status(server.pid());
  double fds_before = Descriptors(server.pid());

  std::vector<std::unique_ptr<LinkChannel>> channels;
  for (auto _ : state) {
    for (int i = 0; i < links; ++i) {
      absl::StatusOr<Link> link = broker::ConnectToService(name, BrokerOptions());
      if (!link.ok()) {
        state.SkipWithError(std::string(link.status().message()).c_str());
        return;
      }
      channels.push_back(std::make_unique<LinkChannel>(*std::move(link)));
      test::Text request, response;
      if (absl::Status s = channels.back()->Call(kPing, request, &response, nullptr); !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        return;
      }
    }
  }
  SettleThreads(server.pid());
  std::map<std::string, double> after = Status(server.pid());
  double fds = Descriptors(server.pid()) - fds_before;
  state.counters["threads"] = after["Threads"];
  state.counters["fds_per_link"] = fds / links;
  state.counters["kb_per_link"] =
      (after["RssAnon"] + after["RssFile"] - before["RssAnon"] - before["RssFile"]) / links;
  state.counters["shmem_kb_per_link"] = (after["RssShmem"] - before["RssShmem"]) / links;
  channels.clear();
  server.Kill();
  server.Wait();
}

LinkOptions Small() {
  LinkOptions options;
  options.ring_capacity = 16 * 1024;
  options.arena_size = 64 * 1024;
  options.max_dma_size = 64 * 1024;
  return options;
}

BENCHMARK_CAPTURE(BM_IdleLinks, small, Small())->Arg(1000)->Iterations(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_IdleLinks, default, LinkOptions())->Arg(100)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace syslink::rpc

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string one = "--benchmark_repetitions=1";
  args.push_back(one.data());
  int count = static_cast<int>(args.size());
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(count, args.data());
  // The broker the benchmark's first connect started ends with it.
  syslink::broker::BrokerConnectOptions broker = syslink::rpc::BrokerOptions();
  broker.start_broker = false;
  if (absl::StatusOr<syslink::broker::Listing> listing = syslink::broker::ListBroker(broker);
      listing.ok()) {
    kill(listing->broker_pid, SIGTERM);
  }
  const std::pair<const char*, const char*> cases[] = {
      {"BM_IdleLinks/small/1000/iterations:1/real_time", "1000 links of 16 KiB rings"},
      {"BM_IdleLinks/default/100/iterations:1/real_time", "100 links of default options"}};
  for (const auto& [name, what] : cases) {
    syslink::testing::BenchmarkMedian m = medians.Get(name);
    if (m.counters.empty()) continue;
    std::printf(
        "idle links, %s: server threads %.0f, %.2f fds per link, %.0f KB per link beyond the "
        "links' shared regions (which the clients map too: %.0f KB per link)\n",
        what, m.counters["threads"], m.counters["fds_per_link"], m.counters["kb_per_link"],
        m.counters["shmem_kb_per_link"]);
  }
  return 0;
}
