// The file service's bulk and metadata speed, beside tmpfs in the same run:
//
//   bazel run --config=opt //examples/fs/bench:fs_benchmark
//
//   BM_TmpfsWrite / BM_TmpfsRead   a 1 GiB file on tmpfs (/dev/shm) with write(2) and
//                                  read(2), 128 KiB at a time: the floor. The write
//                                  truncates the file first, so it fills new pages
//   BM_ClientWrite                 the same file written to memfs in a forked process through
//                                  FsClient::WriteFully, 128 KiB per call (the bytes are
//                                  copied into a DMA buffer, as write(2) copies them)
//   BM_ClientRead                  read back through a FileReader into a buffer of the
//                                  caller's, as read(2) does: one 128 KiB piece read ahead,
//                                  so memfs fills the next while the client copies this one
//   BM_ClientReadOneAtATime        the same through FsClient::ReadFully, one call at a time
//   BM_ClientReadInPlace           read back through FsClient::Read, each 128 KiB summed in
//                                  place in the server's DMA buffer (no copy on the client)
//   BM_TmpfsSmallFiles             open(O_CREAT|O_EXCL) + close, stat, unlink of one file
//   BM_ClientSmallFiles            the same as a FUSE mount would send them: Create, Release,
//                                  GetAttr, Unlink, Forget
//   BM_MountWrite                  the 1 GiB file written with write(2) through a FUSE mount
//                                  of another memfs (fs_mount, default options)
//   BM_MountReadCold               read(2) through the mount with the file's page cache
//                                  dropped first (posix_fadvise DONTNEED): every byte comes
//                                  from memfs through the bridge
//   BM_MountReadCached             read(2) again with the pages cached: the kernel alone
//   BM_MountReadDirect             read(2) of the file opened O_DIRECT: every read is one
//                                  request to the bridge, answered into the reader's buffer
//   BM_MountSmallFiles             BM_TmpfsSmallFiles through the mount
//   BM_NullFuseReadCold            BM_MountReadCold through null_fuse, a FUSE filesystem
//                                  with no server behind it (its reads are answered from a
//                                  constant buffer): the kernel's FUSE path with a server
//                                  that does no work, as a reference
//   BM_NullFuseReadDirect          BM_MountReadDirect through null_fuse
//   BM_NullFuseWrite               BM_MountWrite through null_fuse, which takes each write
//                                  out of its request and drops it (and answers the
//                                  getxattr of security.capability that the kernel sends
//                                  before each write: there is none)
//   BM_NullFuseSmallFiles          BM_MountSmallFiles through null_fuse, whose files are
//                                  entries in a table: the same eight requests per file as
//                                  the mount (getattr of the root, lookup, create, flush,
//                                  release, getattr of the root, unlink, forget), each
//                                  answered at once
//   BM_NullFuseBeside{ReadCold,ReadDirect,Write,SmallFiles}
//                                  the same with null_fuse pinned to the caller's CPU:
//                                  no request then wakes the other vCPU, which on this VM
//                                  can matter more than any work the server does
//
// The client's memfs runs on CPU 1, the client on CPU 0. The mount's processes (syslinkd,
// memfs, fs_mount) and null_fuse (but for BM_NullFuseBeside*) are not pinned: the scheduler
// places them, as it would. The mount benchmarks are skipped, saying why, where
// FUSE cannot be mounted. It ends with summary lines: medians of 3 runs,
// as ratios between results of this run: each against tmpfs, and the mount's reads, write
// and small files against null_fuse's.
//
// The file calls shared by tmpfs, the mount and null_fuse are in file_calls.h, the mounts
// in mounts.h, and the summary lines in summary.h.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "examples/fs/bench/file_calls.h"
#include "examples/fs/bench/mounts.h"
#include "examples/fs/bench/summary.h"
#include "examples/fs/file_reader.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/memfs_service.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"
#include "tests/support/forked_server.h"
#include "tests/support/spin_places.h"

namespace syslink::examples::fs::bench {
namespace {

using ::syslink::testing::ForkedServer;

constexpr int kServerCpu = 1;

// --- tmpfs -------------------------------------------------------------------------------

void BM_TmpfsWrite(benchmark::State& state) { WriteBigFile(state, TmpfsPath("big")); }
void BM_TmpfsRead(benchmark::State& state) {
  ReadBigFile(state, TmpfsPath("big"), Cache::kKeep);  // BM_TmpfsWrite made it; main removes it
}
void BM_TmpfsSmallFiles(benchmark::State& state) { SmallFiles(state, TmpfsPath("small")); }

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

// Reads the 1 GiB file per iteration into a buffer of the caller's, 128 KiB at a time, with
// `read_next(fs, ino, fh, offset, buffer)`: the bytes it put there, short at the end.
template <typename ReadNext>
void ReadBigFileThroughClient(benchmark::State& state, ReadNext read_next) {
  std::vector<std::byte> buffer(kChunk);
  for (auto _ : state) {
    WithBigFile(state, O_RDONLY | O_CREAT, [&](FsClient& fs, uint64_t ino, uint64_t fh) {
      auto next = read_next(fs, ino, fh);
      size_t total = 0;
      for (;;) {
        absl::StatusOr<size_t> n = next(total, std::span(buffer));
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

void BM_ClientRead(benchmark::State& state) {
  ReadBigFileThroughClient(state, [](FsClient& fs, uint64_t ino, uint64_t fh) {
    return [reader = std::make_shared<FileReader>(&fs, ino, fh)](size_t, std::span<std::byte> out) {
      return reader->Read(out);
    };
  });
}

void BM_ClientReadOneAtATime(benchmark::State& state) {
  ReadBigFileThroughClient(state, [](FsClient& fs, uint64_t ino, uint64_t fh) {
    return [&fs, ino, fh](size_t offset, std::span<std::byte> out) {
      return fs.ReadFully(ino, fh, static_cast<int64_t>(offset), out);
    };
  });
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
BENCHMARK(BM_ClientReadOneAtATime)->Apply(BigFile);
BENCHMARK(BM_ClientReadInPlace)->Apply(BigFile);
BENCHMARK(BM_ClientSmallFiles)->UseRealTime();

// --- Through a FUSE mount of another memfs ------------------------------------------------

void BM_MountWrite(benchmark::State& state) {
  if (std::string path = MountPath(state, "big"); !path.empty()) WriteBigFile(state, path);
}
void BM_MountReadCold(benchmark::State& state) {
  if (std::string path = MountPath(state, "big"); !path.empty()) {
    ReadBigFile(state, path, Cache::kDrop);
  }
}
void BM_MountReadCached(benchmark::State& state) {
  if (std::string path = MountPath(state, "big"); !path.empty()) {
    ReadBigFile(state, path, Cache::kKeep);
  }
}
void BM_MountReadDirect(benchmark::State& state) {
  if (std::string path = MountPath(state, "big"); !path.empty()) {
    ReadBigFile(state, path, Cache::kBypass);
  }
}
void BM_MountSmallFiles(benchmark::State& state) {
  if (std::string path = MountPath(state, "small"); !path.empty()) SmallFiles(state, path);
}

// --- Through null_fuse: the same with no server behind the mount -------------------------

void BM_NullFuseRead(benchmark::State& state, Placement placement, Cache cache) {
  const LazyMount<NullFuse>& null = NullFuseMount(placement);
  if (null.mount == nullptr) return Fail(state, "no null_fuse mount: " + null.why);
  ReadBigFile(state, null.mount->Path("file"), cache);
}
void BM_NullFuseReadCold(benchmark::State& state) {
  BM_NullFuseRead(state, Placement::kScheduler, Cache::kDrop);
}
void BM_NullFuseReadDirect(benchmark::State& state) {
  BM_NullFuseRead(state, Placement::kScheduler, Cache::kBypass);
}
void BM_NullFuseBesideReadCold(benchmark::State& state) {
  BM_NullFuseRead(state, Placement::kCallerCpu, Cache::kDrop);
}
void BM_NullFuseBesideReadDirect(benchmark::State& state) {
  BM_NullFuseRead(state, Placement::kCallerCpu, Cache::kBypass);
}
void BM_NullFuseWrite(benchmark::State& state, Placement placement) {
  const LazyMount<NullFuse>& null = NullFuseMount(placement);
  if (null.mount == nullptr) return Fail(state, "no null_fuse mount: " + null.why);
  WriteBigFile(state, null.mount->Path("big"));
  unlink(null.mount->Path("big").c_str());  // and its pages in the kernel's cache with it
}
void BM_NullFuseSmallFiles(benchmark::State& state, Placement placement) {
  const LazyMount<NullFuse>& null = NullFuseMount(placement);
  if (null.mount == nullptr) return Fail(state, "no null_fuse mount: " + null.why);
  SmallFiles(state, null.mount->Path("small"));
}
void BM_NullFuseWrite(benchmark::State& state) { BM_NullFuseWrite(state, Placement::kScheduler); }
void BM_NullFuseSmallFiles(benchmark::State& state) {
  BM_NullFuseSmallFiles(state, Placement::kScheduler);
}
void BM_NullFuseBesideWrite(benchmark::State& state) {
  BM_NullFuseWrite(state, Placement::kCallerCpu);
}
void BM_NullFuseBesideSmallFiles(benchmark::State& state) {
  BM_NullFuseSmallFiles(state, Placement::kCallerCpu);
}

BENCHMARK(BM_MountWrite)->Apply(BigFile);
BENCHMARK(BM_MountReadCold)->Apply(BigFile);
BENCHMARK(BM_MountReadCached)->Apply(BigFile);
BENCHMARK(BM_MountReadDirect)->Apply(BigFile);
BENCHMARK(BM_MountSmallFiles)->UseRealTime();
BENCHMARK(BM_NullFuseReadCold)->Apply(BigFile);
BENCHMARK(BM_NullFuseReadDirect)->Apply(BigFile);
BENCHMARK(BM_NullFuseBesideReadCold)->Apply(BigFile);
BENCHMARK(BM_NullFuseBesideReadDirect)->Apply(BigFile);
BENCHMARK(BM_NullFuseWrite)->Apply(BigFile);
BENCHMARK(BM_NullFuseSmallFiles)->UseRealTime();
BENCHMARK(BM_NullFuseBesideWrite)->Apply(BigFile);
BENCHMARK(BM_NullFuseBesideSmallFiles)->UseRealTime();

}  // namespace
}  // namespace syslink::examples::fs::bench

int main(int argc, char** argv) {
  // Run outside `bazel run` (tools/benchmarks): find fs_mount, memfs and syslinkd in this
  // binary's runfiles, as a test would.
  if (std::getenv("TEST_SRCDIR") == nullptr) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
      exe[n] = '\0';
      setenv("TEST_SRCDIR", absl::StrCat(exe, ".runfiles").c_str(), 1);
      setenv("TEST_WORKSPACE", "syslink", 1);
    }
  }
  const std::string places = syslink::testing::SpinPlacesLine();  // before any server
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  unlink(syslink::examples::fs::bench::TmpfsPath("big").c_str());
  syslink::examples::fs::bench::PrintSummary(medians);
  printf("%s\n", places.c_str());
  return 0;
}
