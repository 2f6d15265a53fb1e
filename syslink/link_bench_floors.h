// The floors link_benchmark reads its links against, all between two processes on the two
// CPUs: moving 128 KiB through shared memory or a socketpair, and the cache line's round
// trip. link_benchmark.cc registers the two benchmarks, in its own order:
//
//   BENCHMARK(BM_CopyFloor128K)->UseRealTime();
//   double line_ns = CacheLineNanos();  // before a server takes the peer CPU
//
// Thread safety: each runs on the benchmark's thread alone. Ownership: each forks its peer
// and kills it before it returns. Errors: a benchmark that cannot set up its region or
// socketpair is skipped with the reason (State::SkipWithError).

#ifndef SYSLINK_SYSLINK_LINK_BENCH_FLOORS_H_
#define SYSLINK_SYSLINK_LINK_BENCH_FLOORS_H_

#include "benchmark/benchmark.h"

namespace syslink::link_bench {

// The floor of BM_LinkDma128K: the same bytes copied into shared memory and read on the
// other CPU, with one spinning flag each way.
void BM_CopyFloor128K(benchmark::State& state);

// 128 KiB through a socketpair, read in full by the peer, answered with one byte.
void BM_SocketPair128K(benchmark::State& state);

// The cache-line floor just now (ring_benchmark's BM_CacheLineFloor): which placement the
// VM gave the two vCPUs, about 70 ns when close and 450 ns when far. The median of 3 slices
// of about 2 ms.
double CacheLineNanos();

}  // namespace syslink::link_bench

#endif  // SYSLINK_SYSLINK_LINK_BENCH_FLOORS_H_
