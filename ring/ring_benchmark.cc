// The ring's round trip and throughput between two processes on the two CPUs, each beside
// the raw floor measured in the same run.
//
//   bazel run --config=opt //ring:ring_benchmark
//
// Round trips (one 64-byte record each way, the peer echoes it):
//   BM_CacheLineFloor     both processes spin on one shared cache line
//   BM_LineEachWay        a 64-byte line each way (56-byte message + sequence number)
//   BM_StampedSlotFloor   one stamped 64-byte slot per message, round a 64 KiB ring
//   BM_TwoLineSlotFloor   the same with a 64-byte message after an 8-byte stamp: two lines
//                         each way, as a ring record with a 64-byte payload takes
//   BM_BareRingFloor      the version-1 layout (72-byte records, two indexes), unchecked
//   BM_FutexFloor         both processes sleep in FUTEX_WAIT and wake each other
//   BM_RingRoundTrip/...  a ring each way, in spin, hybrid and blocking mode
// Throughput (64-byte records one way, published and released in batches of 32):
//   BM_FixedSlotFloor     a ring of fixed 64-byte slots with cached indexes
//   BM_RingThroughput/... syslink's ring of variable-length records
// and, in alternating slices of about 2 ms with the idle producer stopped (the median
// per-pair ratio of records per second):
//   BM_ThroughputVsFixedSlots/...     the ring beside fixed slots
//   BM_PackedRecordsVsFixedSlots      72-byte records (8-byte header, 64-byte payload)
//                                     packed as the ring packs them, without its code,
//                                     beside fixed slots: what the layout costs
//   BM_ThroughputVsPackedRecords/...  the ring beside packed records: what its code costs
//
// It ends with one summary line per measurement, medians of 3 runs as ratios to the floor.

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ring/bench/alternating.h"
#include "ring/bench/minimal_rings.h"
#include "ring/bench/ping_pong.h"
#include "ring/wait_mode.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink::ring::bench {
namespace {

constexpr size_t kPayload = 64;

void RunRoundTrips(benchmark::State& state, RoundTripper& peer) {
  for (auto _ : state) {
    if (!peer.RoundTrip()) {
      state.SkipWithError("the peer stopped answering");
      break;
    }
  }
}

void BM_CacheLineFloor(benchmark::State& state) { RunRoundTrips(state, *StartCacheLineEcho()); }
BENCHMARK(BM_CacheLineFloor)->UseRealTime();

void BM_LineEachWay(benchmark::State& state) { RunRoundTrips(state, *StartLineExchangeEcho()); }
BENCHMARK(BM_LineEachWay)->UseRealTime();

void BM_StampedSlotFloor(benchmark::State& state) { RunRoundTrips(state, *StartStampedSlotEcho()); }
BENCHMARK(BM_StampedSlotFloor)->UseRealTime();

void BM_TwoLineSlotFloor(benchmark::State& state) { RunRoundTrips(state, *StartTwoLineSlotEcho()); }
BENCHMARK(BM_TwoLineSlotFloor)->UseRealTime();

void BM_BareRingFloor(benchmark::State& state) { RunRoundTrips(state, *StartBareRingEcho()); }
BENCHMARK(BM_BareRingFloor)->UseRealTime();

void BM_FutexFloor(benchmark::State& state) { RunRoundTrips(state, *StartFutexEcho()); }
BENCHMARK(BM_FutexFloor)->UseRealTime();

void BM_RingRoundTrip(benchmark::State& state, WaitMode mode) {
  RunRoundTrips(state, *StartRingEcho(mode, kPayload));
}
BENCHMARK_CAPTURE(BM_RingRoundTrip, spin, WaitMode::kSpin)->UseRealTime();
BENCHMARK_CAPTURE(BM_RingRoundTrip, hybrid, WaitMode::kHybrid)->UseRealTime();
BENCHMARK_CAPTURE(BM_RingRoundTrip, blocking, WaitMode::kBlocking)->UseRealTime();

void RunStream(benchmark::State& state, RecordSource& source) {
  for (auto _ : state) {
    if (!source.Next()) {
      state.SkipWithError("the producer stopped");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FixedSlotFloor(benchmark::State& state) { RunStream(state, *StartFixedSlotStream()); }
BENCHMARK(BM_FixedSlotFloor)->UseRealTime();

void BM_RingThroughput(benchmark::State& state, WaitMode mode) {
  RunStream(state, *StartRingStream(mode));
}
BENCHMARK_CAPTURE(BM_RingThroughput, spin, WaitMode::kSpin)->UseRealTime();
BENCHMARK_CAPTURE(BM_RingThroughput, hybrid, WaitMode::kHybrid)->UseRealTime();

// Records per second of `subject` over `floor`'s, in alternating slices of about 2 ms with
// the idle producer stopped. One iteration is a slice of each (about 4 ms): read the
// counters, not the time.
void RunStreamsAlternately(benchmark::State& state, RecordSource& floor, RecordSource& subject) {
  AlternatingSlices slices(floor.peer_pid(), subject.peer_pid());
  for (auto _ : state) {
    if (!slices.RunPair([&] { return floor.Next(); }, [&] { return subject.Next(); })) {
      state.SkipWithError("a stream stopped");
      break;
    }
  }
  // Slices time records, so the per-pair ratio is subject time over floor time: its
  // inverse is the ratio of records per second.
  state.counters["vs_floor"] = 1 / slices.MedianRatio();
  state.counters["floor_mrps"] = 1e3 / slices.MedianFloorNanos();
  state.counters["subject_mrps"] = 1e3 / slices.MedianSubjectNanos();
}

void BM_ThroughputVsFixedSlots(benchmark::State& state, WaitMode mode) {
  RunStreamsAlternately(state, *StartFixedSlotStream(), *StartRingStream(mode));
}
BENCHMARK_CAPTURE(BM_ThroughputVsFixedSlots, spin, WaitMode::kSpin)->UseRealTime();
BENCHMARK_CAPTURE(BM_ThroughputVsFixedSlots, hybrid, WaitMode::kHybrid)->UseRealTime();

void BM_PackedRecordsVsFixedSlots(benchmark::State& state) {
  RunStreamsAlternately(state, *StartFixedSlotStream(), *StartPackedRecordStream());
}
BENCHMARK(BM_PackedRecordsVsFixedSlots)->UseRealTime();

void BM_ThroughputVsPackedRecords(benchmark::State& state, WaitMode mode) {
  RunStreamsAlternately(state, *StartPackedRecordStream(), *StartRingStream(mode));
}
BENCHMARK_CAPTURE(BM_ThroughputVsPackedRecords, spin, WaitMode::kSpin)->UseRealTime();
BENCHMARK_CAPTURE(BM_ThroughputVsPackedRecords, hybrid, WaitMode::kHybrid)->UseRealTime();

void PrintSummary(const testing::BenchmarkMedians& medians) {
  double line = medians.NanosPerIteration("BM_CacheLineFloor/real_time");
  double futex = medians.NanosPerIteration("BM_FutexFloor/real_time");
  double each_way = medians.NanosPerIteration("BM_LineEachWay/real_time");
  double slots = medians.NanosPerIteration("BM_StampedSlotFloor/real_time");
  double two_lines = medians.NanosPerIteration("BM_TwoLineSlotFloor/real_time");
  double bare = medians.NanosPerIteration("BM_BareRingFloor/real_time");
  auto ratio = [](double ns, double floor) { return floor > 0 ? ns / floor : 0; };
  std::printf(
      "\nfloors: cache-line round trip %.0f ns, one line each way %.0f ns (%.2fx), "
      "stamped slots %.0f ns (%.2fx), two-line slots %.0f ns (%.2fx), bare ring %.0f ns "
      "(%.2fx), futex round trip %.0f ns (a cross-CPU wake-up is about %.0f us)\n",
      line, each_way, ratio(each_way, line), slots, ratio(slots, line), two_lines,
      ratio(two_lines, line), bare, ratio(bare, line), futex, futex / 2 / 1000);
  for (WaitMode mode : {WaitMode::kSpin, WaitMode::kHybrid, WaitMode::kBlocking}) {
    std::string name = absl::StrCat("BM_RingRoundTrip/", WaitModeName(mode), "/real_time");
    double rtt = medians.NanosPerIteration(name);
    double floor = mode == WaitMode::kBlocking ? futex : line;
    if (rtt <= 0 || floor <= 0) continue;
    std::string mode_name(WaitModeName(mode));
    if (mode == WaitMode::kBlocking) {
      std::printf("ring rtt %s: %.0f ns = %.2fx floor (futex ping-pong)\n", mode_name.c_str(), rtt,
                  rtt / floor);
    } else {
      std::printf(
          "ring rtt %s: %.0f ns = %.2fx floor (cache line), %.2fx one line each way, "
          "%.2fx stamped slots, %.2fx two-line slots, %.2fx bare ring\n",
          mode_name.c_str(), rtt, rtt / floor, ratio(rtt, each_way), ratio(rtt, slots),
          ratio(rtt, two_lines), ratio(rtt, bare));
    }
  }
  double fixed = medians.Get("BM_FixedSlotFloor/real_time").items_per_second;
  for (WaitMode mode : {WaitMode::kSpin, WaitMode::kHybrid}) {
    std::string name = absl::StrCat("BM_RingThroughput/", WaitModeName(mode), "/real_time");
    double rate = medians.Get(name).items_per_second;
    if (rate <= 0 || fixed <= 0) continue;
    std::printf("ring throughput%s: %.1fM records/s = %.2fx floor (fixed slots: %.1fM/s)\n",
                mode == WaitMode::kHybrid ? "" : " (spin)", rate / 1e6, rate / fixed, fixed / 1e6);
  }
  // The alternating comparisons: name, what is measured, and against what.
  struct Alternating {
    std::string benchmark;
    std::string subject;
    const char* floor;
  };
  std::vector<Alternating> alternating;
  for (WaitMode mode : {WaitMode::kSpin, WaitMode::kHybrid}) {
    std::string mode_name(WaitModeName(mode));
    alternating.push_back({absl::StrCat("BM_ThroughputVsFixedSlots/", mode_name),
                           absl::StrCat("ring throughput ", mode_name), "fixed slots"});
    alternating.push_back({absl::StrCat("BM_ThroughputVsPackedRecords/", mode_name),
                           absl::StrCat("ring throughput ", mode_name), "packed records"});
  }
  alternating.push_back({"BM_PackedRecordsVsFixedSlots", "packed records", "fixed slots"});
  for (const Alternating& a : alternating) {
    std::map<std::string, double> paired =
        medians.Get(absl::StrCat(a.benchmark, "/real_time")).counters;
    if (paired["vs_floor"] <= 0) continue;
    std::printf("%s: %.2fx %s (%.1fM vs %.1fM records/s, in alternating slices)\n",
                a.subject.c_str(), paired["vs_floor"], a.floor, paired["subject_mrps"],
                paired["floor_mrps"]);
  }
}

}  // namespace
}  // namespace syslink::ring::bench

int main(int argc, char** argv) {
  using namespace syslink;
  testing::PinToCpu(0);  // peers run on CPU 1
  testing::BenchmarkMedians medians = testing::RunBenchmarksForMedians(argc, argv);
  ring::bench::PrintSummary(medians);
  double idle = ring::bench::HybridIdleConsumerCpuSeconds(absl::Seconds(1));
  std::printf("hybrid consumer idle for 1 s: %.2f%% CPU (%.1f ms)\n", idle * 100, idle * 1000);
  return 0;
}
