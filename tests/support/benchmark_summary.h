// RunBenchmarksForMedians(): runs the registered Google Benchmarks and returns the median
// of each, so that a benchmark's main can print ratios between results of the same run.
//
//   int main(int argc, char** argv) {
//     BenchmarkMedians medians = RunBenchmarksForMedians(argc, argv);
//     double ring = medians.NanosPerIteration("BM_Ring");
//     double floor = medians.NanosPerIteration("BM_Floor");
//     printf("ring = %.2fx floor\n", ring / floor);
//   }
//
// Unless the command line says otherwise, each benchmark runs 3 times
// (--benchmark_repetitions=3) and only the aggregates are reported. With one repetition
// the single result stands in for the median.
//
// Thread safety: call from main, once.

#ifndef SYSLINK_TESTS_SUPPORT_BENCHMARK_SUMMARY_H_
#define SYSLINK_TESTS_SUPPORT_BENCHMARK_SUMMARY_H_

#include <map>
#include <string>

namespace syslink::testing {

struct BenchmarkMedian {
  double nanos_per_iteration = 0;          // real (wall-clock) time
  double items_per_second = 0;             // 0 unless the benchmark called SetItemsProcessed
  double bytes_per_second = 0;             // 0 unless the benchmark called SetBytesProcessed
  std::map<std::string, double> counters;  // every counter the benchmark reported
};

class BenchmarkMedians {
 public:
  // The median of the benchmark named exactly `name` (e.g. "BM_RingRoundTrip/spin"), or
  // zeros when it did not run (filtered out, or failed).
  BenchmarkMedian Get(const std::string& name) const;
  double NanosPerIteration(const std::string& name) const { return Get(name).nanos_per_iteration; }

  // Whether every named benchmark ran; prints the missing ones to stderr.
  bool Have(std::initializer_list<std::string> names) const;

  std::map<std::string, BenchmarkMedian>& all() { return medians_; }

 private:
  std::map<std::string, BenchmarkMedian> medians_;
};

BenchmarkMedians RunBenchmarksForMedians(int argc, char** argv);

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_BENCHMARK_SUMMARY_H_
