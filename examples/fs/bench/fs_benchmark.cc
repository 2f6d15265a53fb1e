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

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "examples/fs/file_reader.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/fuse/mount_testing.h"
#include "examples/fs/memfs_service.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"
#include "tests/support/forked_server.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::ForkedServer;

constexpr int kServerCpu = 1;
constexpr size_t kChunk = kMaxIoSize;          // 128 KiB
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

void Fail(benchmark::State& state, const std::string& what) { state.SkipWithError(what.c_str()); }

// --- tmpfs -------------------------------------------------------------------------------

std::string TmpfsPath(const char* name) {
  return absl::StrCat("/dev/shm/fs-benchmark-", getpid(), "-", name);
}

// write(2) of the 1 GiB file at `path`, 128 KiB at a time, per iteration.
void WriteBigFile(benchmark::State& state, const std::string& path) {
  for (auto _ : state) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(state, absl::StrCat("open ", path, ": ", strerror(errno)));
    for (size_t i = 0; i < kChunks; ++i) {
      if (write(fd, Chunk().data(), kChunk) != static_cast<ssize_t>(kChunk)) {
        close(fd);
        return Fail(state, absl::StrCat("write ", path, ": ", strerror(errno)));
      }
    }
    if (close(fd) != 0) return Fail(state, absl::StrCat("close ", path, ": ", strerror(errno)));
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

enum class Cache { kKeep, kDrop, kBypass };

// read(2) of the whole 1 GiB file at `path`, 128 KiB at a time, per iteration: with its
// pages cached, dropped before each iteration (untimed), or opened O_DIRECT.
void ReadBigFile(benchmark::State& state, const std::string& path, Cache cache) {
  void* memory = nullptr;
  if (posix_memalign(&memory, 4096, kChunk) != 0) return Fail(state, "posix_memalign");
  std::unique_ptr<void, decltype(&free)> buffer(memory, &free);
  const int flags = O_RDONLY | O_CLOEXEC | (cache == Cache::kBypass ? O_DIRECT : 0);
  for (auto _ : state) {
    int fd = open(path.c_str(), flags);
    if (fd < 0) return Fail(state, absl::StrCat("open ", path, ": ", strerror(errno)));
    if (cache == Cache::kDrop) {
      state.PauseTiming();
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      state.ResumeTiming();
    }
    size_t total = 0;
    for (ssize_t n; (n = read(fd, buffer.get(), kChunk)) > 0;) total += n;
    close(fd);
    if (total != kFileSize) return Fail(state, absl::StrCat(path, ": read ", total, " bytes"));
    benchmark::DoNotOptimize(buffer.get());
  }
  state.SetBytesProcessed(state.iterations() * kFileSize);
}

// open(O_CREAT|O_EXCL) + close, stat, unlink of `path`, per iteration.
void SmallFiles(benchmark::State& state, const std::string& path) {
  struct stat st;
  for (auto _ : state) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) != 0 || stat(path.c_str(), &st) != 0 || unlink(path.c_str()) != 0) {
      return Fail(state, absl::StrCat("create, stat or unlink of ", path, ": ", strerror(errno)));
    }
  }
  state.SetItemsProcessed(state.iterations());
}

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

// What `start()` returns, run with this process unpinned: the processes it starts inherit
// this one's CPU, and should run on every CPU, as they would.
template <typename Start>
auto Unpinned(Start start) {
  cpu_set_t pinned;
  sched_getaffinity(0, sizeof(pinned), &pinned);
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
  sched_setaffinity(0, sizeof(all), &all);
  auto started = start();
  sched_setaffinity(0, sizeof(pinned), &pinned);
  return started;
}

// A FUSE mount started on first use: the mount, or why there is none. Kept in a static,
// it is destroyed when the benchmark exits, which unmounts and stops its processes.
template <typename Mounted>
struct LazyMount {
  std::unique_ptr<Mounted> mount;
  std::string why;  // "" when mounted
};

// What `start()` (an absl::StatusOr<std::unique_ptr<Mounted>>) gives, where FUSE can be
// mounted here.
template <typename Mounted, typename Start>
LazyMount<Mounted> StartMount(Start start) {
  LazyMount<Mounted> result{nullptr, MountUnavailableReason()};
  if (!result.why.empty()) return result;
  absl::StatusOr<std::unique_ptr<Mounted>> started = start();
  if (started.ok()) {
    result.mount = *std::move(started);
  } else {
    result.why = started.status().ToString();
  }
  return result;
}

// syslinkd, memfs and fs_mount.
const LazyMount<MountedMemfs>& MemfsMount() {
  static LazyMount<MountedMemfs> memfs = StartMount<MountedMemfs>([] {
    return Unpinned([] { return MountedMemfs::Start({}, {"--size", "2G"}, absl::Hours(2)); });
  });
  return memfs;
}

// The path `name` in the mount, or "" after failing `state` with the reason there is none.
std::string MountPath(benchmark::State& state, const std::string& name) {
  const LazyMount<MountedMemfs>& memfs = MemfsMount();
  if (memfs.mount == nullptr) {
    Fail(state, "no FUSE mount: " + memfs.why);
    return "";
  }
  return memfs.mount->Path(name);
}

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

// null_fuse serving a 1 GiB `file`, and files created in its root, at a fresh directory
// until the benchmark exits.
class NullFuse {
 public:
  static absl::StatusOr<std::unique_ptr<NullFuse>> Start() {
    std::unique_ptr<NullFuse> mount(new NullFuse);
    if (absl::Status s = mount->Mount(); !s.ok()) return s;
    return mount;
  }

  ~NullFuse() {
    if (server_.has_value()) {
      server_->Kill(SIGTERM);  // it unmounts
      (void)server_->WaitFor(absl::Seconds(20));
    }
    if (!mountpoint_.empty() && ForceUnmount(mountpoint_)) rmdir(mountpoint_.c_str());
    if (!parent_.empty()) {
      unlink((parent_ + "/null_fuse.log").c_str());
      rmdir(parent_.c_str());
    }
  }

  std::string Path(const std::string& name) const { return mountpoint_ + "/" + name; }

 private:
  NullFuse() = default;
  absl::Status Mount() {
    char parent[] = "/tmp/sl-null-fuse-XXXXXX";
    if (mkdtemp(parent) == nullptr) return absl::InternalError("mkdtemp failed");
    parent_ = parent;
    if (mkdir((parent_ + "/mnt").c_str(), 0755) != 0) return absl::InternalError("mkdir failed");
    mountpoint_ = parent_ + "/mnt";
    absl::StatusOr<ChildProcess> server =
        StartMountDaemon({RunfilesPath("examples/fs/bench/null_fuse"),
                          absl::StrCat("--size=", kFileSize), mountpoint_},
                         mountpoint_, parent_ + "/null_fuse.log");
    if (!server.ok()) return server.status();
    server_.emplace(*std::move(server));
    return absl::OkStatus();
  }

  std::string parent_;
  std::string mountpoint_;
  std::optional<ChildProcess> server_;
};

enum class Placement { kScheduler, kCallerCpu };

// null_fuse on any CPU, as the mount's processes are, or pinned to the caller's.
const LazyMount<NullFuse>& NullFuseMount(Placement placement) {
  if (placement == Placement::kScheduler) {
    static LazyMount<NullFuse> anywhere =
        StartMount<NullFuse>([] { return Unpinned(NullFuse::Start); });
    return anywhere;
  }
  static LazyMount<NullFuse> beside = StartMount<NullFuse>(NullFuse::Start);
  return beside;
}

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

// Benchmarks' full names: BM_TmpfsWrite/iterations:2/real_time, BM_TmpfsSmallFiles/real_time.
double GigabytesPerSecond(const testing::BenchmarkMedians& m, const char* name) {
  std::string full = absl::StrCat(name, "/iterations:", kBigIterations, "/real_time");
  return m.Get(full).bytes_per_second / 1e9;
}
double FilesPerSecond(const testing::BenchmarkMedians& m, const char* name) {
  return m.Get(absl::StrCat(name, "/real_time")).items_per_second;
}

// "fs <label>: 0.50x the null FUSE mount (no server), 0.40x it on the caller's CPU", or
// nothing when a figure is missing.
void PrintAgainstNull(const std::string& label, double mount, double anywhere, double beside) {
  if (mount == 0 || anywhere == 0 || beside == 0) return;
  std::printf("fs %s: %.2fx the null FUSE mount (no server), %.2fx it on the caller's CPU\n",
              label.c_str(), mount / anywhere, mount / beside);
}

// The 1 GiB writes and reads, each beside the tmpfs floor of its direction, and the
// mount's beside null_fuse's. A line whose benchmarks did not all run is left out.
void PrintBulkSummary(const testing::BenchmarkMedians& m) {
  auto gbps = [&](const char* name) { return GigabytesPerSecond(m, name); };
  const double tmpfs_write = gbps("BM_TmpfsWrite");
  const double tmpfs_read = gbps("BM_TmpfsRead");
  const struct {
    const char* benchmark;
    const char* label;
    bool write;
  } kBulk[] = {
      {"BM_ClientWrite", "client write", true},
      {"BM_ClientRead", "client read", false},
      {"BM_ClientReadOneAtATime", "client read, one call at a time", false},
      {"BM_ClientReadInPlace", "client read in place", false},
      {"BM_MountWrite", "mount write", true},
      {"BM_MountReadCold", "mount read, cold (from the server)", false},
      {"BM_MountReadCached", "mount read, cached (the page cache)", false},
      {"BM_MountReadDirect", "mount read, O_DIRECT (from the server)", false},
      {"BM_NullFuseWrite", "null FUSE mount write (no server)", true},
      {"BM_NullFuseBesideWrite", "null FUSE mount on the writer's CPU write", true},
      {"BM_NullFuseReadCold", "null FUSE mount read, cold (no server)", false},
      {"BM_NullFuseReadDirect", "null FUSE mount read, O_DIRECT (no server)", false},
      {"BM_NullFuseBesideReadCold", "null FUSE mount on the reader's CPU read, cold", false},
      {"BM_NullFuseBesideReadDirect", "null FUSE mount on the reader's CPU read, O_DIRECT", false},
  };
  for (const auto& bulk : kBulk) {
    const double measured = gbps(bulk.benchmark);
    const double floor = bulk.write ? tmpfs_write : tmpfs_read;
    if (measured == 0 || floor == 0) continue;
    std::printf("fs %s: %.2f GB/s = %.2fx tmpfs\n", bulk.label, measured, measured / floor);
  }
  // A cold read fills page-cache pages the kernel has just allocated, as a write of a
  // new tmpfs file does: on a VM whose host takes freed memory back, that fill, not the
  // copy, can set the pace. This ratio shows how close the mount comes to it.
  if (double cold = gbps("BM_MountReadCold"); cold > 0 && tmpfs_write > 0) {
    std::printf(
        "fs mount read, cold: %.2fx tmpfs write of a new file (the cost of filling "
        "new pages)\n",
        cold / tmpfs_write);
  }
  // The same with no server behind the mount: what the kernel's FUSE path leaves for any
  // server, placed by the scheduler and beside the caller.
  const struct {
    const char* mount;
    const char* null;
    const char* beside;
    const char* label;
  } kAgainstNull[] = {
      {"BM_MountWrite", "BM_NullFuseWrite", "BM_NullFuseBesideWrite", "write"},
      {"BM_MountReadCold", "BM_NullFuseReadCold", "BM_NullFuseBesideReadCold", "read, cold"},
      {"BM_MountReadDirect", "BM_NullFuseReadDirect", "BM_NullFuseBesideReadDirect",
       "read, O_DIRECT"},
  };
  for (const auto& row : kAgainstNull) {
    PrintAgainstNull(absl::StrCat("mount ", row.label), gbps(row.mount), gbps(row.null),
                     gbps(row.beside));
  }
}

// create+stat+unlink beside tmpfs, and the mount's beside null_fuse's.
void PrintSmallFilesSummary(const testing::BenchmarkMedians& m) {
  auto rate = [&](const char* name) { return FilesPerSecond(m, name); };
  const double tmpfs = rate("BM_TmpfsSmallFiles");
  const struct {
    const char* benchmark;
    const char* label;
  } kSmall[] = {
      {"BM_ClientSmallFiles", "client small files"},
      {"BM_MountSmallFiles", "mount small files"},
      {"BM_NullFuseSmallFiles", "null FUSE mount small files (no server)"},
      {"BM_NullFuseBesideSmallFiles", "null FUSE mount on the caller's CPU small files"},
  };
  for (const auto& small : kSmall) {
    const double measured = rate(small.benchmark);
    if (measured == 0 || tmpfs == 0) continue;
    std::printf("fs %s: %.0f/s = %.2fx tmpfs\n", small.label, measured, measured / tmpfs);
  }
  PrintAgainstNull("mount small files", rate("BM_MountSmallFiles"), rate("BM_NullFuseSmallFiles"),
                   rate("BM_NullFuseBesideSmallFiles"));
}

void PrintSummary(const testing::BenchmarkMedians& m) {
  std::printf("\nfloors: tmpfs write %.2f GB/s, read %.2f GB/s, create+stat+unlink %.0f/s\n",
              GigabytesPerSecond(m, "BM_TmpfsWrite"), GigabytesPerSecond(m, "BM_TmpfsRead"),
              FilesPerSecond(m, "BM_TmpfsSmallFiles"));
  PrintBulkSummary(m);
  PrintSmallFilesSummary(m);
}

}  // namespace
}  // namespace syslink::examples::fs

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
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  unlink(syslink::examples::fs::TmpfsPath("big").c_str());
  syslink::examples::fs::PrintSummary(medians);
  return 0;
}
