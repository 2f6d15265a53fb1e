// fs_benchmark's summary lines, printed after its runs: medians of 3 runs as ratios between
// results of the same run, each against tmpfs, and the mount's reads, write and small files
// against null_fuse's (tools/benchmark_report.py copies the lines that start "floors" and
// "fs ").
//
//   testing::BenchmarkMedians medians = testing::RunBenchmarksForMedians(argc, argv);
//   PrintSummary(medians);
//
// Thread safety: prints to stdout; call from one thread. Errors: a line whose benchmarks
// did not all run is left out.

#ifndef SYSLINK_EXAMPLES_FS_BENCH_SUMMARY_H_
#define SYSLINK_EXAMPLES_FS_BENCH_SUMMARY_H_

#include "tests/support/benchmark_summary.h"

namespace syslink::examples::fs::bench {

void PrintSummary(const testing::BenchmarkMedians& m);

}  // namespace syslink::examples::fs::bench

#endif  // SYSLINK_EXAMPLES_FS_BENCH_SUMMARY_H_
