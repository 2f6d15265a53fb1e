// What fs_benchmark runs through the kernel's file calls, on tmpfs, on the FUSE mount of
// memfs and on null_fuse alike: the 1 GiB file written and read with write(2) and read(2),
// 128 KiB at a time, and small files created, stat'ed and removed; and what its benchmarks
// share: the file's sizes and bytes, and how a benchmark of it runs.
//
//   void BM_TmpfsWrite(benchmark::State& state) { WriteBigFile(state, TmpfsPath("big")); }
//   BENCHMARK(BM_TmpfsWrite)->Apply(BigFile);
//
// Thread safety: the functions are safe from any thread; the benchmark's thread calls them.
// Ownership: the files are the caller's to remove (fs_benchmark's main removes tmpfs's big
// file). Errors: a failed call skips the benchmark with the call, the path and errno's
// message (State::SkipWithError); nothing aborts.

#ifndef SYSLINK_EXAMPLES_FS_BENCH_FILE_CALLS_H_
#define SYSLINK_EXAMPLES_FS_BENCH_FILE_CALLS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "examples/fs/fs_format.h"

namespace syslink::examples::fs::bench {

inline constexpr size_t kChunk = kMaxIoSize;          // 128 KiB
inline constexpr size_t kFileSize = size_t{1} << 30;  // 1 GiB
inline constexpr size_t kChunks = kFileSize / kChunk;
inline constexpr int kBigIterations = 2;  // 1 GiB files per repetition

// The bytes every write sends: not zeros, so that nothing can skip them.
const std::vector<std::byte>& Chunk();

// A benchmark that moves a whole 1 GiB file per iteration.
void BigFile(benchmark::internal::Benchmark* benchmark);

inline void Fail(benchmark::State& state, const std::string& what) {
  state.SkipWithError(what.c_str());
}

// The path `name` on tmpfs (/dev/shm), apart for this process.
std::string TmpfsPath(const char* name);

// write(2) of the 1 GiB file at `path`, 128 KiB at a time, per iteration.
void WriteBigFile(benchmark::State& state, const std::string& path);

enum class Cache { kKeep, kDrop, kBypass };

// read(2) of the whole 1 GiB file at `path`, 128 KiB at a time, per iteration: with its
// pages cached, dropped before each iteration (untimed), or opened O_DIRECT.
void ReadBigFile(benchmark::State& state, const std::string& path, Cache cache);

// open(O_CREAT|O_EXCL) + close, stat, unlink of `path`, per iteration.
void SmallFiles(benchmark::State& state, const std::string& path);

}  // namespace syslink::examples::fs::bench

#endif  // SYSLINK_EXAMPLES_FS_BENCH_FILE_CALLS_H_
