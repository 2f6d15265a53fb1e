// The file service's bulk and metadata speed, beside tmpfs in the same run:
//
//   bazel run --config=opt //examples/fs/bench:fs_benchmark
//
//   BM_TmpfsWrite / BM_TmpfsRead   a 1 GiB file on tmpfs (/dev/shm) with write(2) and
//                                  read(2), 128 KiB at a time: the floor
//   BM_ClientWrite                 the same file written to memfs in a forked process through
//                                  FsClient::WriteFully, 128 KiB per call (the bytes are
//                                  copied into a DMA buffer, as write(2) copies them)
//   BM_ClientRead                  read back through FsClient::ReadFully into a buffer of the
//                                  caller's, as read(2) does
//   BM_ClientReadInPlace           read back through FsClient::Read, each 128 KiB summed in
//                                  place in the server's DMA buffer (no copy on the client)
//   BM_TmpfsSmallFiles             open(O_CREAT|O_EXCL) + close, stat, unlink of one file
//   BM_ClientSmallFiles            the same as a FUSE mount would send them: Create, Release,
//                                  GetAttr, Unlink, Forget
//
// memfs runs on CPU 1, the client on CPU 0. It ends with summary lines: medians of 3 runs,
// as ratios between results of this run.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <utility>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/memfs_service.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"
#include "tests/support/forked_server.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ForkedServer;

constexpr int kServerCpu = 1;
constexpr size_t kChunk = kMaxIoSize;         // 128 KiB
constexpr size_t kFileSize = size_t{1} << 30;  // 1 GiB
constexpr size_t kChunks = kFileSize / kChunk;
constexpr int kBigIterations = 2;  // 1 GiB files per repetition

// The bytes every write sends: not zeros, so that nothing can skip them.
const std::vector<std::byte>& Chunk() {
  static const std::vector<std::byte>* chunk = [] {
    auto* bytes = new std::vector<std::byte>(kChunk);
    for (size_t i = 0; i < kChunk; ++i) (*bytes)[i] = std::byte(i * 131 % 251 + 1);
    return bytes;
  }();
  return *chunk;
}

// A benchmark that moves a whole 1 GiB file per iteration.
void BigFile(benchmark::internal::Benchmark* benchmark) {
  benchmark->Unit(benchmark::kMillisecond)->Iterations(kBigIterations)->UseRealTime();
}

void Fail(benchmark::State& state, const std::string& what) {
  state.SkipWithError(what.c_str());
}

// --- tmpfs -------------------------------------------------------------------------------

std::string TmpfsPath(const char* name) {
  return absl::StrCat("/dev/shm/fs-benchmark-", getpid(), "-", name);
}

void BM_TmpfsWrite(benchmark::State& state) {
  std::string path = TmpfsPath("big");
  for (auto _ : state) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(state, "open: " + std::string(strerror(errno)));
    for (size_t i = 0; i < kChunks; ++i) {
      if (write(fd, Chunk().data(), kChunk) != static_cast<ssize_t>(kChunk)) {
        close(fd);
        return Fail(state, "write failed");
      }
    }
    close(fd);
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
  // BM_TmpfsRead reads this file; it is removed after that.
}

void BM_TmpfsRead(benchmark::State& state) {
  std::string path = TmpfsPath("big");
  std::vector<std::byte> buffer(kChunk);
  for (auto _ : state) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(state, absl::StrCat("open (BM_TmpfsWrite first): ", strerror(errno)));
    size_t total = 0;
    for (ssize_t n; (n = read(fd, buffer.data(), kChunk)) > 0;) total += n;
    close(fd);
    if (total != kFileSize) return Fail(state, "short file");
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
  unlink(path.c_str());
}

void BM_TmpfsSmallFiles(benchmark::State& state) {
  std::string path = TmpfsPath("small");
  struct stat st;
  for (auto _ : state) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) != 0 || stat(path.c_str(), &st) != 0 || unlink(path.c_str()) != 0) {
      return Fail(state, "create, stat or unlink failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_TmpfsWrite)->Apply(BigFile);
BENCHMARK(BM_TmpfsRead)->Apply(BigFile);
BENCHMARK(BM_TmpfsSmallFiles)->UseRealTime();

// --- The direct client to memfs in another process -----------------------------------------

// memfs, forked, holding the 1 GiB file between the write and read benchmarks.
struct MemFsProcess {
  MemFsProcess()
      : server([] { return std::make_unique<MemFs>(); }, {.cpu = kServerCpu}),
        client(std::make_unique<FsClient>(server.channel())) {}
  ~MemFsProcess() { client.reset(); }
  ForkedServer server;
  std::unique_ptr<FsClient> client;
};

MemFsProcess& Memfs() {
  static MemFsProcess* memfs = new MemFsProcess;  // lives until the benchmark exits
  return *memfs;
}

// Opens "big" in the root (creating it with O_CREAT), runs `body` on (ino, fh), closes it.
template <typename Body>
void WithBigFile(benchmark::State& state, uint32_t flags, Body body) {
  FsClient& fs = *Memfs().client;
  absl::StatusOr<FsClient::Created> file = fs.Create(kRootIno, "big", 0644, flags);
  if (!file.ok()) return Fail(state, file.status().ToString());
  LookupRef lookup(&fs, file->entry);
  body(fs, file->entry.ino(), file->fh);
  if (absl::Status s = fs.Release(file->entry.ino(), file->fh); !s.ok()) {
    Fail(state, s.ToString());
  }
}

void BM_ClientWrite(benchmark::State& state) {
  for (auto _ : state) {
    WithBigFile(state, O_WRONLY | O_CREAT | O_TRUNC, [&](FsClient& fs, uint64_t ino, uint64_t fh) {
      for (size_t i = 0; i < kChunks; ++i) {
        if (absl::Status s = fs.WriteFully(ino, fh, i * kChunk, Chunk()); !s.ok()) {
          return Fail(state, s.ToString());
        }
      }
    });
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

void BM_ClientRead(benchmark::State& state) {
  std::vector<std::byte> buffer(kChunk);
  for (auto _ : state) {
    WithBigFile(state, O_RDONLY | O_CREAT, [&](FsClient& fs, uint64_t ino, uint64_t fh) {
      size_t total = 0;
      for (;;) {
        absl::StatusOr<size_t> n = fs.ReadFully(ino, fh, total, buffer);
        if (!n.ok()) return Fail(state, n.status().ToString());
        total += *n;
        if (*n < kChunk) break;
      }
      if (total != kFileSize) Fail(state, "short file (run BM_ClientWrite first)");
      benchmark::DoNotOptimize(buffer.data());
    });
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

void BM_ClientReadInPlace(benchmark::State& state) {
  for (auto _ : state) {
    WithBigFile(state, O_RDONLY | O_CREAT, [&](FsClient& fs, uint64_t ino, uint64_t fh) {
      size_t total = 0;
      uint64_t sum = 0;
      for (;;) {
        absl::StatusOr<rpc::Attachment> piece = fs.Read(ino, fh, total, kChunk);
        if (!piece.ok()) return Fail(state, piece.status().ToString());
        std::span<const std::byte> bytes = std::as_const(*piece).data();
        if (bytes.empty()) break;
        const auto* words = reinterpret_cast<const uint64_t*>(bytes.data());
        sum = std::accumulate(words, words + bytes.size() / 8, sum);
        total += bytes.size();
      }
      if (total != kFileSize) Fail(state, "short file (run BM_ClientWrite first)");
      benchmark::DoNotOptimize(sum);
    });
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

void BM_ClientSmallFiles(benchmark::State& state) {
  FsClient& fs = *Memfs().client;
  for (auto _ : state) {
    absl::StatusOr<FsClient::Created> file =
        fs.Create(kRootIno, "small", 0644, O_WRONLY | O_CREAT | O_EXCL);
    if (!file.ok()) return Fail(state, file.status().ToString());
    uint64_t ino = file->entry.ino();
    if (!fs.Release(ino, file->fh).ok() || !fs.GetAttr(ino).ok() ||
        !fs.Unlink(kRootIno, "small").ok() || !fs.Forget(ino).ok()) {
      return Fail(state, "release, getattr, unlink or forget failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ClientWrite)->Apply(BigFile);
BENCHMARK(BM_ClientRead)->Apply(BigFile);
BENCHMARK(BM_ClientReadInPlace)->Apply(BigFile);
BENCHMARK(BM_ClientSmallFiles)->UseRealTime();

void PrintSummary(const testing::BenchmarkMedians& m) {
  // Benchmarks' full names: BM_TmpfsWrite/iterations:2/real_time, BM_TmpfsSmallFiles/real_time.
  auto gbps = [&](const char* name) {
    std::string full = absl::StrCat(name, "/iterations:", kBigIterations, "/real_time");
    return m.Get(full).bytes_per_second / 1e9;
  };
  auto rate = [&](const char* name) {
    return m.Get(absl::StrCat(name, "/real_time")).items_per_second;
  };
  double tmpfs_write = gbps("BM_TmpfsWrite");
  double tmpfs_read = gbps("BM_TmpfsRead");
  std::printf("\nfloors: tmpfs write %.2f GB/s, read %.2f GB/s, create+stat+unlink %.0f/s\n",
              tmpfs_write, tmpfs_read, rate("BM_TmpfsSmallFiles"));
  if (tmpfs_write > 0 && tmpfs_read > 0) {
    std::printf("fs client write: %.2f GB/s = %.2fx tmpfs\n", gbps("BM_ClientWrite"),
                gbps("BM_ClientWrite") / tmpfs_write);
    std::printf("fs client read: %.2f GB/s = %.2fx tmpfs\n", gbps("BM_ClientRead"),
                gbps("BM_ClientRead") / tmpfs_read);
    std::printf("fs client read in place: %.2f GB/s = %.2fx tmpfs\n",
                gbps("BM_ClientReadInPlace"), gbps("BM_ClientReadInPlace") / tmpfs_read);
  }
  if (rate("BM_TmpfsSmallFiles") > 0) {
    std::printf("fs client small files: %.0f/s = %.2fx tmpfs\n", rate("BM_ClientSmallFiles"),
                rate("BM_ClientSmallFiles") / rate("BM_TmpfsSmallFiles"));
  }
}

}  // namespace
}  // namespace syslink::examples::fs

int main(int argc, char** argv) {
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  syslink::examples::fs::PrintSummary(medians);
  return 0;
}
