// Server streaming between two processes, syslink beside gRPC in one run: 64-byte messages
// per second and 128 KiB chunks' GB/s, through the stubs each generates from the same .proto
// (testdata/stream_bench.proto): syslink's over a link, gRPC's (grpc_cpp_plugin) over a Unix
// socket.
//
//   bazel run --config=opt //rpc/grpc:stream_benchmark
//
//   BM_Messages/<window>  Download of 64-byte messages (64 bytes in `data`), syslink with
//                         LinkChannelOptions::stream_window = <window>
//   BM_Chunks/<window>    Download of 128 KiB chunks: syslink's as attachments (how a
//                         large file moves), gRPC's in the `data` field
//
// Each window has a link of its own, with default options except a DMA arena that holds
// the window's 128 KiB attachments in flight (4 MiB, the default, up to window 30).
//
// Before the benchmarks, gRPC's connection streams 128 KiB chunks for about a second
// (WarmUp): its flow control grows with the bandwidth it sees, and a new connection moves
// chunks several times slower than the same connection later.
//
// Each iteration is a pair of 20 ms slices, syslink's and gRPC's (the other order every
// other iteration), each reading a stream opened for it after 2 ms of warm-up, then giving
// it up. Before them come a 2 ms slice of cache-line round trips, which says where the VM
// put its two vCPUs at that moment (about 70 ns: close; about 500 ns: far apart, or the
// CPUs busy with other work), and a slice of the floor: for messages, syslink's ring alone
// streaming 64-byte records from the other CPU; for chunks, the work both sides do to a
// chunk (copy it in, checksum it) done by one thread with no transport. The counters are
// medians over a run's 16 pairs: of the per-pair ratio syslink / gRPC (vs_grpc), of each
// side's rate (messages/s, or bytes/s for chunks), of the floor and of the cache line, and
// how many pairs had the vCPUs close (cache line under 200 ns). An iteration's time is that
// of its slices and of opening and giving up its streams, 50 ms or more: read the counters.
// The summary lines pool the pairs of all 3 runs: each side's median rate, the median
// per-pair ratio over all of them, and over those with the vCPUs close and the others.
//
// Both servers do the same work per message: copy its data from a 128 KiB "file" in memory
// into the message (syslink: into the attachment from ServerContext::AllocateAttachment),
// and write it; the client reads every byte of it (a checksum) and checks its offset. Both
// servers are processes of their own on CPU 1 (syslink's forked, gRPC's a new image of this
// binary: gRPC does not survive fork()); the client sits on CPU 0. With --unpinned, no
// process is pinned (but for the cache-line and ring floors, which stay on CPUs 0 and 1).

#include <grpcpp/grpcpp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "rpc/grpc/testdata/grpc/stream_bench.grpc.pb.h"
#include "rpc/grpc/testdata/stream_bench.syslink.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "syslink/end_transfer.h"
#include "syslink/link.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/checksum.h"
#include "tests/support/child_process.h"
#include "tests/support/spin_places.h"

extern char** environ;

namespace syslink::bench::stream {
namespace {

using ::syslink::testing::ChildProcess;

constexpr size_t kMessageBytes = 64;
constexpr size_t kChunkBytes = 128 * 1024;
constexpr int kWindows[] = {16, 64, 256, 1024};
constexpr int kPairs = 16;  // iterations of each benchmark, in each of its 3 runs
constexpr absl::Duration kSlice = absl::Milliseconds(20);
constexpr absl::Duration kWarmUp = absl::Milliseconds(2);
constexpr absl::Duration kFloorSlice = absl::Milliseconds(2);
// gRPC slices of 128 KiB chunks before the benchmarks (WarmUp).
constexpr int kWarmUpSlices = 50;
// A cache-line round trip under this: the two vCPUs sat close (the fast placement).
constexpr double kCloseNanos = 200;
constexpr absl::string_view kServerFlag = "--grpc-stream-server=";
constexpr absl::string_view kUnpinnedFlag = "--unpinned";

// Whether the client sits on CPU 0 and the servers on CPU 1 (the default), or the
// scheduler places every thread (--unpinned).
bool pinned = true;

// The file both servers send, 128 KiB of a pattern, from memory.
std::span<const std::byte> File() {
  static const std::vector<std::byte>* file = [] {
    auto* bytes = new std::vector<std::byte>(kChunkBytes);
    for (size_t i = 0; i < bytes->size(); ++i) (*bytes)[i] = static_cast<std::byte>(i * 7);
    return bytes;
  }();
  return *file;
}

using ::syslink::testing::Checksum;  // reads every byte of a chunk

// ---- The servers ----

class SyslinkFiles final : public Files {
 public:
  absl::Status Download(rpc::ServerContext& context, const DownloadRequest& request,
                        rpc::ServerWriter<Chunk>* writer) override {
    const size_t bytes = std::min<size_t>(request.chunk_bytes(), kChunkBytes);
    Chunk chunk;
    for (int64_t i = 0; request.messages() == 0 || i < request.messages(); ++i) {
      chunk.set_offset(i * static_cast<int64_t>(bytes));
      rpc::Attachment attachment;
      if (request.as_attachment()) {
        absl::StatusOr<rpc::Attachment> buffer = context.AllocateAttachment(bytes);
        if (!buffer.ok()) return buffer.status();
        std::memcpy(buffer->data().data(), File().data(), bytes);
        attachment = *std::move(buffer);
      } else {
        chunk.mutable_data()->assign(reinterpret_cast<const char*>(File().data()), bytes);
      }
      if (!writer->Write(chunk, std::move(attachment))) {
        return absl::CancelledError("the client stopped reading");
      }
    }
    return absl::OkStatus();
  }
};

class GrpcFiles final : public grpc::Files::Service {
  ::grpc::Status Download(::grpc::ServerContext*, const grpc::DownloadRequest* request,
                          ::grpc::ServerWriter<grpc::Chunk>* writer) override {
    const size_t bytes = std::min<size_t>(request->chunk_bytes(), kChunkBytes);
    grpc::Chunk chunk;
    for (int64_t i = 0; request->messages() == 0 || i < request->messages(); ++i) {
      chunk.set_offset(i * static_cast<int64_t>(bytes));
      chunk.mutable_data()->assign(reinterpret_cast<const char*>(File().data()), bytes);
      if (!writer->Write(chunk)) return ::grpc::Status::CANCELLED;
    }
    return ::grpc::Status::OK;
  }
};

// The first call in a server process: it dies with the benchmark, and sits on the peer CPU
// unless --unpinned.
void BecomeServer() {
  if (pinned) {
    ring::bench::BecomePeer();
  } else {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
}

// Serves gRPC's Files on `address` until killed: this binary started with
// --grpc-stream-server=ADDRESS [--unpinned].
int ServeGrpc(const std::string& address) {
  BecomeServer();
  GrpcFiles service;
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(address, ::grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (!server) return 1;
  server->Wait();
  return 0;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "stream_benchmark: %s\n", what.c_str());
  std::abort();
}

// The DMA arena a link needs for `window` 128 KiB attachments in flight, the one the reader
// holds and one being filled: at least LinkOptions' default.
uint64_t ArenaFor(int window) {
  return std::max<uint64_t>(LinkOptions().arena_size, (window + 2) * kChunkBytes);
}

// One forked process on the peer CPU serving SyslinkFiles on a link per window, and a stub
// on each. The server dies with this process (PR_SET_PDEATHSIG) and is killed when this
// object is destroyed.
class SyslinkServerProcess {
 public:
  SyslinkServerProcess() {
    std::vector<Link> ends;
    std::vector<std::string> tokens;
    for (int window : kWindows) {
      LinkOptions options;
      options.arena_size = ArenaFor(window);
      absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
      if (!pair.ok()) Die(pair.status().ToString());
      ends.push_back(std::move(pair->first));
      absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
      if (!token.ok()) Die(token.status().ToString());
      tokens.push_back(*std::move(token));
    }
    server_.emplace(ChildProcess::Fork([&] { return Serve(tokens); }));
    for (const std::string& token : tokens) CloseReleasedEnd(token);
    for (size_t i = 0; i < ends.size(); ++i) {
      auto channel = std::make_shared<rpc::LinkChannel>(
          std::move(ends[i]), rpc::LinkChannelOptions{.stream_window = kWindows[i]});
      stubs_.emplace(kWindows[i], std::make_unique<FilesStub>(std::move(channel)));
    }
  }
  ~SyslinkServerProcess() {
    stubs_.clear();
    server_->Kill();
    server_->Wait();
  }

  FilesStub& stub(int window) { return *stubs_.at(window); }

 private:
  static int Serve(const std::vector<std::string>& tokens) {
    BecomeServer();
    SyslinkFiles service;
    rpc::Server server;
    for (const std::string& token : tokens) {
      absl::StatusOr<Link> end = AdoptEnd(token);
      if (!end.ok()) return 1;
      server.ServeLink(&service, *std::move(end));
    }
    while (true) pause();  // until killed
  }

  std::map<int, std::unique_ptr<FilesStub>> stubs_;
  std::optional<ChildProcess> server_;
};

// gRPC's server, a new image of this binary on the peer CPU, and a stub to it.
class GrpcServerProcess {
 public:
  GrpcServerProcess() : address_(absl::StrCat("unix:/tmp/sl-stream-bench-", getpid(), ".sock")) {
    std::string flag = absl::StrCat(kServerFlag, address_);
    std::string unpinned(kUnpinnedFlag);
    char* argv[] = {const_cast<char*>("stream_benchmark"), flag.data(),
                    pinned ? nullptr : unpinned.data(), nullptr};
    if (posix_spawn(&pid_, "/proc/self/exe", nullptr, nullptr, argv, environ) != 0) {
      Die("cannot start the gRPC server");
    }
    std::shared_ptr<::grpc::Channel> channel =
        ::grpc::CreateChannel(address_, ::grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      Die("the gRPC server did not start");
    }
    stub_ = grpc::Files::NewStub(channel);
  }
  ~GrpcServerProcess() {
    stub_.reset();
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    unlink(address_.substr(5).c_str());
  }

  grpc::Files::Stub& stub() { return *stub_; }

 private:
  std::string address_;
  pid_t pid_ = 0;
  std::unique_ptr<grpc::Files::Stub> stub_;
};

// Everything main starts before the benchmarks run: every fork happens before gRPC starts.
struct Peers {
  std::unique_ptr<SyslinkServerProcess> syslink;
  std::unique_ptr<ring::bench::RoundTripper> cache_line;
  std::unique_ptr<ring::bench::RecordSource> ring_stream;
  std::unique_ptr<GrpcServerProcess> grpc;
};
Peers* peers = nullptr;

void StopPeer(pid_t pid) {
  kill(pid, SIGSTOP);
  int status;
  waitpid(pid, &status, WUNTRACED);
}

void ResumePeer(pid_t pid) { kill(pid, SIGCONT); }

// ---- Slices ----

// Reads with `read_one` (false: the stream failed) for kWarmUp, then for kSlice: messages
// per second over the latter, or nothing if a read failed. Looks at the clock every `batch`
// reads.
template <typename ReadOne>
std::optional<double> ReadsPerSecond(ReadOne read_one, int batch) {
  const absl::Time warm = absl::Now() + kWarmUp;
  while (absl::Now() < warm) {
    for (int i = 0; i < batch; ++i) {
      if (!read_one()) return std::nullopt;
    }
  }
  uint64_t reads = 0;
  const absl::Time start = absl::Now();
  absl::Time end;
  do {
    for (int i = 0; i < batch; ++i) {
      if (!read_one()) return std::nullopt;
    }
    reads += batch;
    end = absl::Now();
  } while (end - start < kSlice);
  return static_cast<double>(reads) / absl::ToDoubleSeconds(end - start);
}

// What each slice checks and reads of a message: the offset it expects, then every byte.
struct Consumer {
  explicit Consumer(size_t bytes) : bytes(bytes) {}
  bool Take(int64_t offset, std::span<const std::byte> data) {
    if (offset != next || data.size() != bytes) return false;
    next += static_cast<int64_t>(bytes);
    sum += Checksum(data);
    return true;
  }
  size_t bytes;
  int64_t next = 0;
  uint64_t sum = 0;
};

std::optional<double> SyslinkSlice(int window, size_t bytes) {
  DownloadRequest request;
  request.set_chunk_bytes(bytes);
  request.set_as_attachment(bytes > kMessageBytes);
  std::unique_ptr<rpc::ClientReader<Chunk>> reader = peers->syslink->stub(window).Download(request);
  Consumer consumer(bytes);
  Chunk chunk;
  rpc::Attachment attachment;
  std::optional<double> rate = ReadsPerSecond(
      [&] {
        if (!reader->Read(&chunk, &attachment)) return false;
        return consumer.Take(chunk.offset(), attachment.empty()
                                                 ? std::as_bytes(std::span(chunk.data()))
                                                 : std::span<const std::byte>(attachment.data()));
      },
      bytes > kMessageBytes ? 1 : 16);
  benchmark::DoNotOptimize(consumer.sum);
  return rate;  // the reader goes unfinished: that cancels the stream on both sides
}

std::optional<double> GrpcSlice(size_t bytes) {
  grpc::DownloadRequest request;
  request.set_chunk_bytes(bytes);
  ::grpc::ClientContext context;
  std::unique_ptr<::grpc::ClientReader<grpc::Chunk>> reader =
      peers->grpc->stub().Download(&context, request);
  Consumer consumer(bytes);
  grpc::Chunk chunk;
  std::optional<double> rate = ReadsPerSecond(
      [&] {
        return reader->Read(&chunk) &&
               consumer.Take(chunk.offset(), std::as_bytes(std::span(chunk.data())));
      },
      bytes > kMessageBytes ? 1 : 16);
  benchmark::DoNotOptimize(consumer.sum);
  context.TryCancel();
  while (reader->Read(&chunk)) {
  }
  (void)reader->Finish();  // CANCELLED
  return rate;
}

// Nanoseconds per cache-line round trip over kFloorSlice, after 32 untimed ones (its peer
// was stopped until now). Nothing if a round trip failed.
std::optional<double> CacheLineNanos(ring::bench::RoundTripper& floor) {
  for (int i = 0; i < 32; ++i) {
    if (!floor.RoundTrip()) return std::nullopt;
  }
  uint64_t count = 0;
  const absl::Time start = absl::Now();
  absl::Time end;
  do {
    for (int i = 0; i < 16; ++i) {
      if (!floor.RoundTrip()) return std::nullopt;
    }
    count += 16;
    end = absl::Now();
  } while (end - start < kFloorSlice);
  return absl::ToDoubleNanoseconds(end - start) / static_cast<double>(count);
}

// Runs `slice` with the calling thread on CPU 0, where it is anyway unless --unpinned: the
// floors' peers sit on CPU 1.
template <typename Slice>
std::optional<double> OnCpu0(Slice slice) {
  if (pinned) return slice();
  cpu_set_t all, cpu0;
  sched_getaffinity(0, sizeof(all), &all);
  CPU_ZERO(&cpu0);
  CPU_SET(0, &cpu0);
  sched_setaffinity(0, sizeof(cpu0), &cpu0);
  std::optional<double> result = slice();
  sched_setaffinity(0, sizeof(all), &all);
  return result;
}

// The cache-line slice, its spinning peer stopped again afterwards: off the peer CPU while
// the streams run.
std::optional<double> PlacementSlice() {
  ring::bench::RoundTripper& floor = *peers->cache_line;
  ResumePeer(floor.peer_pid());
  std::optional<double> nanos = OnCpu0([&] { return CacheLineNanos(floor); });
  StopPeer(floor.peer_pid());
  return nanos;
}

// The floor of 64-byte messages: syslink's ring alone streaming 64-byte records from the
// peer CPU (ring::bench::StartRingStream, hybrid waits), records per second.
std::optional<double> RingStreamFloor() {
  ring::bench::RecordSource& ring = *peers->ring_stream;
  return OnCpu0(
      [&] { return ReadsPerSecond([&] { return ring.Next(); }, ring::bench::kStreamBatch); });
}

// The floor of 128 KiB chunks: the work both sides do to each, with no transport between
// them: one thread copies the file into a buffer and checksums it. Bytes per second.
std::optional<double> WorkFloor() {
  static std::vector<std::byte> chunk(kChunkBytes);
  uint64_t chunks = 0;
  const absl::Time start = absl::Now();
  absl::Time end;
  do {
    std::memcpy(chunk.data(), File().data(), kChunkBytes);
    benchmark::DoNotOptimize(Checksum(chunk));
    ++chunks;
    end = absl::Now();
  } while (end - start < kFloorSlice);
  return static_cast<double>(chunks * kChunkBytes) / absl::ToDoubleSeconds(end - start);
}

// One iteration's measurements. Rates are messages per second for 64-byte messages, bytes
// per second for chunks.
struct Pair {
  double syslink = 0;
  double grpc = 0;
  double floor = 0;
  double cache_line_ns = 0;
  double ratio() const { return syslink / grpc; }
  bool close() const { return cache_line_ns < kCloseNanos; }
};

// Every pair of every run, by chunk size and window, for the summary.
std::map<std::pair<size_t, int>, std::vector<Pair>>& AllPairs() {
  static auto* pairs = new std::map<std::pair<size_t, int>, std::vector<Pair>>();
  return *pairs;
}

// The median of `field` over the pairs `keep` selects; 0 when none does.
template <typename Field, typename Keep>
double MedianOf(const std::vector<Pair>& pairs, Field field, Keep keep) {
  std::vector<double> values;
  for (const Pair& pair : pairs) {
    if (keep(pair)) values.push_back(field(pair));
  }
  if (values.empty()) return 0;
  auto middle = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

template <typename Field>
double MedianOf(const std::vector<Pair>& pairs, Field field) {
  return MedianOf(pairs, field, [](const Pair&) { return true; });
}

void RunPairs(benchmark::State& state, size_t bytes) {
  const int window = static_cast<int>(state.range(0));
  const double per_read = bytes > kMessageBytes ? static_cast<double>(bytes) : 1;
  std::vector<Pair> pairs;
  bool syslink_first = true;
  for (auto _ : state) {
    std::optional<double> line = PlacementSlice();
    std::optional<double> floor = bytes > kMessageBytes ? WorkFloor() : RingStreamFloor();
    std::optional<double> syslink, grpc;
    if (syslink_first) {
      syslink = SyslinkSlice(window, bytes);
      grpc = GrpcSlice(bytes);
    } else {
      grpc = GrpcSlice(bytes);
      syslink = SyslinkSlice(window, bytes);
    }
    syslink_first = !syslink_first;
    if (!line || !floor || !syslink || !grpc || *grpc <= 0) {
      state.SkipWithError(!syslink ? "a syslink stream failed"
                          : !grpc  ? "a gRPC stream failed"
                                   : "a floor failed");
      return;
    }
    pairs.push_back({*syslink * per_read, *grpc * per_read, *floor, *line});
  }
  state.counters["vs_grpc"] = MedianOf(pairs, [](const Pair& p) { return p.ratio(); });
  state.counters["syslink_per_s"] = MedianOf(pairs, [](const Pair& p) { return p.syslink; });
  state.counters["grpc_per_s"] = MedianOf(pairs, [](const Pair& p) { return p.grpc; });
  state.counters["floor_per_s"] = MedianOf(pairs, [](const Pair& p) { return p.floor; });
  state.counters["cache_line_ns"] = MedianOf(pairs, [](const Pair& p) { return p.cache_line_ns; });
  state.counters["close_pairs"] =
      static_cast<double>(std::count_if(pairs.begin(), pairs.end(), std::mem_fn(&Pair::close)));
  std::vector<Pair>& all = AllPairs()[{bytes, window}];
  all.insert(all.end(), pairs.begin(), pairs.end());
}

void BM_Messages(benchmark::State& state) { RunPairs(state, kMessageBytes); }
void BM_Chunks(benchmark::State& state) { RunPairs(state, kChunkBytes); }

void Windows(benchmark::internal::Benchmark* b) {
  for (int window : kWindows) b->Arg(window);
  b->Iterations(kPairs)->UseRealTime();
}
BENCHMARK(BM_Messages)->Apply(Windows);
BENCHMARK(BM_Chunks)->Apply(Windows);

// "48 pairs, 30 with the vCPUs close (< 200 ns): 12.5x, 18 far: 11.9x": how many pairs
// saw each placement, and the median ratio over each.
std::string Placements(const std::vector<Pair>& pairs) {
  auto ratio = [](const Pair& p) { return p.ratio(); };
  auto far = [](const Pair& p) { return !p.close(); };
  const auto close_pairs = std::count_if(pairs.begin(), pairs.end(), std::mem_fn(&Pair::close));
  const auto far_pairs = std::count_if(pairs.begin(), pairs.end(), far);
  auto some = [](long n, double median) {
    return n == 0 ? std::string() : absl::StrFormat(": %.2fx", median);
  };
  return absl::StrFormat("%d pairs, %d with the vCPUs close (< %.0f ns)%s, %d far%s", pairs.size(),
                         close_pairs, kCloseNanos,
                         some(close_pairs, MedianOf(pairs, ratio, std::mem_fn(&Pair::close))),
                         far_pairs, some(far_pairs, MedianOf(pairs, ratio, far)));
}

// One line per benchmark, over the pairs of all its runs.
void PrintSummary() {
  std::printf("\nstream placement: %s\n",
              pinned ? "client on CPU 0, servers on CPU 1 (pinned)"
                     : "every thread where the scheduler puts it (--unpinned)");
  for (const auto& [key, pairs] : AllPairs()) {
    const auto [bytes, window] = key;
    if (pairs.empty()) continue;
    const double syslink = MedianOf(pairs, [](const Pair& p) { return p.syslink; });
    const double grpc = MedianOf(pairs, [](const Pair& p) { return p.grpc; });
    const double floor = MedianOf(pairs, [](const Pair& p) { return p.floor; });
    const double ratio = MedianOf(pairs, [](const Pair& p) { return p.ratio(); });
    const double line = MedianOf(pairs, [](const Pair& p) { return p.cache_line_ns; });
    if (bytes == kMessageBytes) {
      std::printf(
          "stream 64 B, window %d: %.3fM msgs/s = %.2fx gRPC (%.3fM/s), %.1f%% of the ring's "
          "(%.1fM/s); cache line %.0f ns; %s\n",
          window, syslink / 1e6, ratio, grpc / 1e6, 100 * syslink / floor, floor / 1e6, line,
          Placements(pairs).c_str());
    } else {
      std::printf(
          "stream 128 KiB, window %d: %.2f GB/s = %.2fx gRPC (%.3f GB/s), %.1f%% of the work "
          "alone (%.1f GB/s); cache line %.0f ns; %s\n",
          window, syslink / 1e9, ratio, grpc / 1e9, 100 * syslink / floor, floor / 1e9, line,
          Placements(pairs).c_str());
    }
  }
}

// Streams chunks through gRPC's connection until its rate has settled, and a while through
// every link. gRPC's HTTP/2 flow control grows its windows with the bandwidth it sees (BDP
// probing): a new connection moves 128 KiB chunks at a small fraction of what the same
// connection does a second later. A long-lived connection is what is compared.
void WarmUp() {
  for (int i = 0; i < kWarmUpSlices; ++i) (void)GrpcSlice(kChunkBytes);
  for (int window : kWindows) {
    for (int i = 0; i < 5; ++i) (void)SyslinkSlice(window, kChunkBytes);
  }
}

// Starts the peers (every fork before gRPC starts), runs the benchmarks, prints the summary.
int Run(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (argv[i] == kUnpinnedFlag) {
      pinned = false;
    } else {
      args.push_back(argv[i]);
    }
  }
  const std::string places = testing::SpinPlacesLine();  // before any server
  if (pinned) testing::PinToCpu(0);
  peers = new Peers();
  peers->syslink = std::make_unique<SyslinkServerProcess>();
  peers->cache_line = ring::bench::StartCacheLineEcho();
  StopPeer(peers->cache_line->peer_pid());
  peers->ring_stream = ring::bench::StartRingStream(ring::WaitMode::kHybrid);
  peers->grpc = std::make_unique<GrpcServerProcess>();
  WarmUp();
  (void)testing::RunBenchmarksForMedians(static_cast<int>(args.size()), args.data());
  PrintSummary();
  printf("%s\n", places.c_str());
  ResumePeer(peers->cache_line->peer_pid());  // to be told to stop
  delete peers;
  return 0;
}

}  // namespace
}  // namespace syslink::bench::stream

int main(int argc, char** argv) {
  using syslink::bench::stream::kServerFlag;
  if (argc >= 2 && absl::StartsWith(argv[1], kServerFlag)) {
    syslink::bench::stream::pinned = argc < 3 || argv[2] != syslink::bench::stream::kUnpinnedFlag;
    return syslink::bench::stream::ServeGrpc(std::string(argv[1] + kServerFlag.size()));
  }
  return syslink::bench::stream::Run(argc, argv);
}
