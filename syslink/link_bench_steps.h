// Where a round trip's time goes, for link_benchmark's BM_RingSteps and BM_LinkSteps: the
// client's loop that stamps its own steps and then reads the server's from its StampLog,
// the counters made of both, and the summary line of one layer's steps.
//
//   SharedStampLog log;
//   LinkServer server(mode, &*log);
//   RunStamped(state, line_ns, server.pid(), *log, [&](ClientStamps& stamps) {
//     ...  // one round trip: stamps.sent once the send returned, stamps.seen at the reply
//   });
//
// Thread safety: not thread-safe; the benchmark's thread calls them. RunStamped reads the
// server's stamps only after an acquire load of StampLog::answered covers every request sent
// (link_bench_server.h). Ownership: RunStamped borrows the log, which must outlive it.
// Errors: a failed round trip, or a server gone before it stamped every request, skips the
// benchmark with the reason (State::SkipWithError); PrintSteps prints nothing for a layer
// and mode that did not run.

#ifndef SYSLINK_SYSLINK_LINK_BENCH_STEPS_H_
#define SYSLINK_SYSLINK_LINK_BENCH_STEPS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "ring/bench/peer.h"
#include "ring/wait_mode.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/link_bench_server.h"
#include "tests/support/benchmark_summary.h"

namespace syslink::link_bench {

// What the client stamps for one round trip: when its send returned, and when it found the
// reply (its wait ended).
struct ClientStamps {
  uint64_t sent;
  uint64_t seen;
};

// Over the last StampLog::kTrips round trips, as counters (in TSC cycles, the median also in
// ns by the counter's rate over the run): the server's steps, the client's view, and the
// medians of the one-way flights between them: from a send returning to the other side's
// poll finding the record, negative when it was found first. A flight compares the two
// CPUs' counters (the VM keeps them in step); the two flights' sum does not.
void ReportSteps(benchmark::State& state, const StampLog& log,
                 const std::vector<ClientStamps>& client, uint64_t trips, double cycles_per_ns,
                 double line_ns);

// Runs the client's side of a stamped benchmark: `round_trip(stamps)` makes one round trip
// and stamps it. The server's stamps are read once it has stamped every request.
template <typename RoundTrip>
void RunStamped(benchmark::State& state, double line_ns, pid_t server, const StampLog& log,
                RoundTrip round_trip) {
  std::vector<ClientStamps> client(StampLog::kTrips);
  uint64_t trips = 0;
  const uint64_t start_cycles = internal::CycleCount();
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    if (!round_trip(client[trips % StampLog::kTrips])) {
      state.SkipWithError("a round trip failed");
      return;
    }
    ++trips;
  }
  const double cycles_per_ns = static_cast<double>(internal::CycleCount() - start_cycles) /
                               absl::ToDoubleNanoseconds(absl::Now() - start);
  if (!ring::bench::SpinWhilePeerLives(
          [&] { return log.answered.load(std::memory_order_acquire) >= trips; }, server)) {
    state.SkipWithError("the server stopped stamping");
    return;
  }
  ReportSteps(state, log, client, trips, cycles_per_ns, line_ns);
}

// One layer's steps in one mode, in cycles of the time-stamp counter (and ns), if it ran.
void PrintSteps(const testing::BenchmarkMedians& medians, const char* layer,
                const std::string& benchmark, const char* take, const char* publish,
                ring::WaitMode mode);

}  // namespace syslink::link_bench

#endif  // SYSLINK_SYSLINK_LINK_BENCH_STEPS_H_
