// Calls per second from 1, 2, 4 and 8 client threads sharing one LinkChannel, beside the
// same threads each calling through a channel of its own, to one real server process:
//
//   bazel run --config=opt //rpc:channel_threads_benchmark
//
//   BM_SharedVsPerThread/<n>  n threads making 64-byte echo calls for a slice of 20 ms
//                             through one shared channel, then for a slice through n
//                             channels, one per thread (the other order every other
//                             iteration), after a 2 ms slice of cache-line round trips
//                             that says where the VM put its two vCPUs at that moment
//
// One server process on CPU 1 serves every link (default ServerOptions and LinkOptions:
// hybrid waits, methods on the thread serving the link), so the two sides of a pair differ
// only in how the client's calls are spread over links. The client and its threads sit on
// CPU 0. Counters: the median of the per-pair ratios shared / per-thread; each side's
// median calls/s and context switches per call (the client's, voluntary or not: a reply
// handed from thread to thread costs some); the median cache-line round trip; and the
// pairs left out because a slice completed no call at all (the server was not scheduled:
// other load on the machine). An iteration's time is that of a whole pair, about 50 ms:
// read the counters. It ends with summary lines, medians of 3 runs.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "rpc/link_channel.h"
#include "rpc/method.h"
#include "rpc/server.h"
#include "rpc/testdata/test_service.pb.h"
#include "syslink/end_transfer.h"
#include "syslink/link.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink::rpc {
namespace {

using ::syslink::testing::ChildProcess;

constexpr Method kEcho{MethodId("syslink.bench.Threads.Echo"), "/syslink.bench.Threads/Echo",
                       MethodKind::kUnary};
constexpr absl::Duration kSlice = absl::Milliseconds(20);
// Before a slice is timed: its threads start, and the server unparks the links.
constexpr absl::Duration kWarmUp = absl::Milliseconds(2);
constexpr int kThreadCounts[] = {1, 2, 4, 8};

// Answers every call with its request.
class EchoService : public Service {
 public:
  absl::string_view service_name() const override { return "syslink.bench.Threads"; }
  absl::Status Dispatch(ServerCall& call) override {
    test::Text request;
    if (absl::Status s = call.ParseRequest(&request); !s.ok()) return s;
    call.SetResponse(request);
    return absl::OkStatus();
  }
};

// One forked server process on the peer CPU serving EchoService on `links` links, and a
// channel on each. The server dies with this process (PR_SET_PDEATHSIG) and is killed when
// this object is destroyed.
class EchoServerProcess {
 public:
  explicit EchoServerProcess(int links) {
    std::vector<Link> ends;
    std::vector<std::string> tokens;
    for (int i = 0; i < links; ++i) {
      absl::StatusOr<LinkPair> pair = Link::CreatePair();
      if (!pair.ok()) Die(pair.status());
      ends.push_back(std::move(pair->first));
      absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
      if (!token.ok()) Die(token.status());
      tokens.push_back(*std::move(token));
    }
    server_.emplace(ChildProcess::Fork([&] { return Serve(tokens); }));
    for (const std::string& token : tokens) CloseReleasedEnd(token);
    for (Link& end : ends) channels_.push_back(std::make_unique<LinkChannel>(std::move(end)));
  }
  ~EchoServerProcess() {
    channels_.clear();
    server_->Kill();
    server_->Wait();
  }

  LinkChannel& channel(int i) { return *channels_[i]; }

 private:
  static void Die(const absl::Status& status) {
    std::fprintf(stderr, "channel_threads_benchmark: %s\n", status.ToString().c_str());
    std::abort();
  }

  static int Serve(const std::vector<std::string>& tokens) {
    ring::bench::BecomePeer();
    EchoService service;
    Server server;
    for (const std::string& token : tokens) {
      absl::StatusOr<Link> end = AdoptEnd(token);
      if (!end.ok()) return 1;
      server.ServeLink(&service, *std::move(end));
    }
    while (true) pause();  // until killed
  }

  std::vector<std::unique_ptr<LinkChannel>> channels_;
  std::optional<ChildProcess> server_;
};

// Context switches of this process so far, voluntary and involuntary.
double ContextSwitches() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_nvcsw + usage.ru_nivcsw);
}

struct Slice {
  double calls_per_second;
  double switches_per_call;  // 0 when no call completed
};

// `threads` threads, thread t calling through `channel_of(t)` as fast as it can, measured
// over kSlice after kWarmUp. Nothing if a call failed.
template <typename ChannelOf>
std::optional<Slice> MeasureSlice(int threads, ChannelOf channel_of) {
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, channel = &channel_of(t)] {
      test::Text request, response;
      request.set_text(std::string(64, 'x'));
      while (!stop.load(std::memory_order_relaxed)) {
        if (!channel->Call(kEcho, request, &response, nullptr).ok()) {
          failed.store(true);
          return;
        }
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  absl::SleepFor(kWarmUp);
  const uint64_t first = calls.load(std::memory_order_relaxed);
  const double switches_before = ContextSwitches();
  const absl::Time start = absl::Now();
  absl::SleepFor(kSlice);
  const uint64_t last = calls.load(std::memory_order_relaxed);
  const double switches = ContextSwitches() - switches_before;
  const absl::Time end = absl::Now();
  stop.store(true);
  for (std::thread& caller : callers) caller.join();
  if (failed.load()) return std::nullopt;
  const double count = static_cast<double>(last - first);
  return Slice{count / absl::ToDoubleSeconds(end - start), count > 0 ? switches / count : 0};
}

// Nanoseconds per cache-line round trip over about 2 ms, after 32 untimed ones (the peer
// was just resumed). Nothing if a round trip failed.
std::optional<double> CacheLineNanos(ring::bench::RoundTripper& floor) {
  for (int i = 0; i < 32; ++i) {
    if (!floor.RoundTrip()) return std::nullopt;
  }
  uint64_t count = 0;
  const absl::Time start = absl::Now();
  absl::Time end;
  do {
    for (int i = 0; i < 16; ++i) {
      if (!floor.RoundTrip()) return std::nullopt;
    }
    count += 16;
    end = absl::Now();
  } while (end - start < absl::Milliseconds(2));
  return absl::ToDoubleNanoseconds(end - start) / static_cast<double>(count);
}

// Stops `pid` (a child of this process), waiting until it has stopped.
void StopPeer(pid_t pid) {
  kill(pid, SIGSTOP);
  int status;
  waitpid(pid, &status, WUNTRACED);
}

void ResumePeer(pid_t pid) { kill(pid, SIGCONT); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto middle = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

// One iteration: a cache-line slice (its spinning peer stopped afterwards, so that only the
// server uses CPU 1), then a shared-channel slice and a per-thread-channel slice, in
// alternating order.
void BM_SharedVsPerThread(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  EchoServerProcess server(1 + threads);  // channel 0 is shared, 1..n are one per thread
  std::unique_ptr<ring::bench::RoundTripper> floor = ring::bench::StartCacheLineEcho();
  auto shared = [&](int) -> LinkChannel& { return server.channel(0); };
  auto per_thread = [&](int t) -> LinkChannel& { return server.channel(1 + t); };
  std::vector<double> floor_ns, ratios;
  std::vector<Slice> shared_slices, per_thread_slices;
  int stalled = 0;
  bool shared_first = true;
  for (auto _ : state) {
    std::optional<double> line = CacheLineNanos(*floor);
    StopPeer(floor->peer_pid());
    std::optional<Slice> shared_slice, per_thread_slice;
    if (shared_first) {
      shared_slice = MeasureSlice(threads, shared);
      per_thread_slice = MeasureSlice(threads, per_thread);
    } else {
      per_thread_slice = MeasureSlice(threads, per_thread);
      shared_slice = MeasureSlice(threads, shared);
    }
    shared_first = !shared_first;
    ResumePeer(floor->peer_pid());
    if (!line || !shared_slice || !per_thread_slice) {
      state.SkipWithError("a call or a round trip failed");
      break;
    }
    floor_ns.push_back(*line);
    if (shared_slice->calls_per_second == 0 || per_thread_slice->calls_per_second == 0) {
      ++stalled;
      continue;
    }
    shared_slices.push_back(*shared_slice);
    per_thread_slices.push_back(*per_thread_slice);
    ratios.push_back(shared_slice->calls_per_second / per_thread_slice->calls_per_second);
  }
  auto median_of = [](const std::vector<Slice>& slices, double Slice::*field) {
    std::vector<double> values;
    for (const Slice& slice : slices) values.push_back(slice.*field);
    return Median(std::move(values));
  };
  state.counters["shared_vs_per_thread"] = Median(ratios);
  state.counters["shared_calls_per_s"] = median_of(shared_slices, &Slice::calls_per_second);
  state.counters["per_thread_calls_per_s"] = median_of(per_thread_slices, &Slice::calls_per_second);
  state.counters["shared_switches_per_call"] = median_of(shared_slices, &Slice::switches_per_call);
  state.counters["per_thread_switches_per_call"] =
      median_of(per_thread_slices, &Slice::switches_per_call);
  state.counters["cache_line_ns"] = Median(floor_ns);
  state.counters["pairs"] = static_cast<double>(ratios.size());
  state.counters["stalled_pairs"] = stalled;
}
BENCHMARK(BM_SharedVsPerThread)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseRealTime();

void PrintSummary(const testing::BenchmarkMedians& medians) {
  std::printf("\n");
  for (int threads : kThreadCounts) {
    std::map<std::string, double> c =
        medians.Get(absl::StrCat("BM_SharedVsPerThread/", threads, "/real_time")).counters;
    if (c["shared_vs_per_thread"] <= 0) continue;
    std::printf(
        "channel threads %d: shared %.2fx per-thread channels (%.0fk vs %.0fk calls/s; %.3f vs "
        "%.3f context switches per call; cache line %.0f ns",
        threads, c["shared_vs_per_thread"], c["shared_calls_per_s"] / 1e3,
        c["per_thread_calls_per_s"] / 1e3, c["shared_switches_per_call"],
        c["per_thread_switches_per_call"], c["cache_line_ns"]);
    if (c["stalled_pairs"] > 0) std::printf("; %.0f pairs stalled", c["stalled_pairs"]);
    std::printf(")\n");
  }
}

}  // namespace
}  // namespace syslink::rpc

int main(int argc, char** argv) {
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  syslink::rpc::PrintSummary(medians);
  return 0;
}
