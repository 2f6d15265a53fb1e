#include "syslink/link_bench_steps.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"

namespace syslink::link_bench {
namespace {

// The median of `cycles`, and the mean of its middle 90%. The time-stamp counter may tick
// coarsely (on the AMD EPYC VM this was written on, by 21 at a time: 10 ns), so the median
// of a step a few ticks long is coarse too; the mean of ticks falling at random phases is
// not, and without its tails no interrupt throws it.
std::pair<double, double> MedianAndMiddleMean(std::vector<double> cycles) {
  if (cycles.empty()) return {0, 0};
  std::sort(cycles.begin(), cycles.end());
  const size_t cut = cycles.size() / 20;
  double sum = 0;
  for (size_t i = cut; i < cycles.size() - cut; ++i) sum += cycles[i];
  return {cycles[cycles.size() / 2], sum / static_cast<double>(cycles.size() - 2 * cut)};
}

}  // namespace

void ReportSteps(benchmark::State& state, const StampLog& log,
                 const std::vector<ClientStamps>& client, uint64_t trips, double cycles_per_ns,
                 double line_ns) {
  std::vector<double> from_ready, from_taken, client_view, request_flight, reply_flight;
  for (uint64_t n = trips - std::min(trips, StampLog::kTrips); n < trips; ++n) {
    const ServerStamps& s = log.trips[n % StampLog::kTrips];
    const ClientStamps& c = client[n % StampLog::kTrips];
    from_ready.push_back(static_cast<double>(s.published - s.ready));
    from_taken.push_back(static_cast<double>(s.published - s.taken));
    client_view.push_back(static_cast<double>(c.seen - c.sent));
    request_flight.push_back(static_cast<double>(static_cast<int64_t>(s.ready - c.sent)));
    reply_flight.push_back(static_cast<double>(static_cast<int64_t>(c.seen - s.published)));
  }
  auto report = [&](const std::string& name, std::vector<double> cycles) {
    auto [median, mean] = MedianAndMiddleMean(std::move(cycles));
    state.counters[name] = median;
    state.counters[name + "_ns"] = median / cycles_per_ns;
    state.counters[name + "_avg"] = mean;
  };
  report("ready_to_pub", std::move(from_ready));
  report("taken_to_pub", std::move(from_taken));
  report("client", std::move(client_view));
  state.counters["req_flight"] = MedianAndMiddleMean(std::move(request_flight)).first;
  state.counters["reply_flight"] = MedianAndMiddleMean(std::move(reply_flight)).first;
  state.counters["line_ns"] = line_ns;
}

void PrintSteps(const testing::BenchmarkMedians& medians, const char* layer,
                const std::string& benchmark, const char* take, const char* publish,
                ring::WaitMode mode) {
  const std::string name(ring::WaitModeName(mode));
  std::map<std::string, double> steps =
      medians.Get(absl::StrCat(benchmark, "/", name, "/real_time")).counters;
  if (steps["client"] <= 0) return;
  std::printf(
      "%s steps %s: ready to %s %.0f cycles (%.0f ns; mean %.0f), %s to %s %.0f (%.0f ns; "
      "mean %.0f); the client's send to reply %.0f (%.0f ns; mean %.0f), flights %.0f + %.0f; "
      "cache line %.0f ns\n",
      layer, name.c_str(), publish, steps["ready_to_pub"], steps["ready_to_pub_ns"],
      steps["ready_to_pub_avg"], take, publish, steps["taken_to_pub"], steps["taken_to_pub_ns"],
      steps["taken_to_pub_avg"], steps["client"], steps["client_ns"], steps["client_avg"],
      steps["req_flight"], steps["reply_flight"], steps["line_ns"]);
}

}  // namespace syslink::link_bench
