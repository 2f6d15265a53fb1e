#include "tests/support/benchmark_summary.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"

namespace syslink::testing {
namespace {

// Prints as the console reporter does and keeps each benchmark's median.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  explicit MedianReporter(BenchmarkMedians* medians) : medians_(medians) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !single) continue;
      BenchmarkMedian& m = medians_->all()[run.run_name.str()];
      m.nanos_per_iteration =
          run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e9;
      for (const auto& [name, counter] : run.counters) m.counters[name] = counter.value;
      if (auto it = run.counters.find("items_per_second"); it != run.counters.end()) {
        m.items_per_second = it->second.value;
      }
      if (auto it = run.counters.find("bytes_per_second"); it != run.counters.end()) {
        m.bytes_per_second = it->second.value;
      }
    }
  }

 private:
  BenchmarkMedians* medians_;
};

bool HasFlag(int argc, char** argv, const char* prefix) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) return true;
  }
  return false;
}

}  // namespace

BenchmarkMedian BenchmarkMedians::Get(const std::string& name) const {
  auto it = medians_.find(name);
  return it == medians_.end() ? BenchmarkMedian{} : it->second;
}

bool BenchmarkMedians::Have(std::initializer_list<std::string> names) const {
  bool all = true;
  for (const std::string& name : names) {
    if (Get(name).nanos_per_iteration > 0) continue;
    std::fprintf(stderr, "no result for %s (filtered out or failed)\n", name.c_str());
    all = false;
  }
  return all;
}

BenchmarkMedians RunBenchmarksForMedians(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string repetitions = "--benchmark_repetitions=3";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  if (!HasFlag(argc, argv, "--benchmark_repetitions")) {
    args.push_back(repetitions.data());
    if (!HasFlag(argc, argv, "--benchmark_report_aggregates_only")) {
      args.push_back(aggregates.data());
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) std::exit(2);
  BenchmarkMedians medians;
  MedianReporter reporter(&medians);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return medians;
}

}  // namespace syslink::testing
