// A link's call round trip beside the ring's own, and a 128 KiB DMA request beside the
// floors of moving the same bytes, all between two processes on the two CPUs.
//
//   bazel run --config=opt //syslink:link_benchmark
//
//   BM_RingRoundTrip/<mode>   the ring alone: a 64-byte record each way
//   BM_LinkCall/<mode>        Link::Call with 64 bytes inline, the peer replies 64 bytes
//   BM_LinkVsRing/<mode>      both of the above in alternating slices of about 2 ms, the
//                             idle peer stopped (SIGSTOP): per-pair ratios, so that the VM
//                             moving its vCPUs between slices changes both sides alike
//   BM_CopyFloor128K          memcpy 128 KiB into shared memory, the peer reads all of it
//   BM_SocketPair128K         128 KiB through a socketpair, the peer reads all of it
//   BM_LinkDma128K            a request lending a 128 KiB buffer (filled by the caller,
//                             read in full by the peer), answered with 1 byte
//
// It ends with summary lines: medians of 3 runs as ratios to the floor in the same run. The
// link's ratio to the ring is BM_LinkVsRing's median per-pair ratio (the medians of
// BM_LinkCall and BM_RingRoundTrip, run one after the other, follow it).

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "ring/bench/alternating.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "ring/internal/cpu_relax.h"
#include "ring/shared_region.h"
#include "syslink/end_transfer.h"
#include "syslink/link.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::PinToCpu;

constexpr size_t kInline = 64;
constexpr size_t kDmaBytes = 128 * 1024;
constexpr uint32_t kEcho = 1;
constexpr uint32_t kReadBuffer = 2;

// Reads every byte of `bytes` (what "the peer reads the buffer" means here): a sum of
// 64-bit words, which the compiler vectorizes.
uint64_t Checksum(std::span<const std::byte> bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    sum += word;
  }
  return sum;
}

// A forked server on the other CPU that answers every request on its end of a link.
class LinkServer {
 public:
  explicit LinkServer(ring::WaitMode mode) {
    LinkOptions options;
    options.wait.mode = mode;
    absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
    if (!pair.ok()) Die(pair.status());
    client_ = std::move(pair->first);
    absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
    if (!token.ok()) Die(token.status());
    server_.emplace(ChildProcess::Fork([&] { return Serve(*token); }));
    CloseReleasedEnd(*token);
  }

  Link& client() { return client_; }
  pid_t pid() const { return server_->pid(); }

 private:
  static void Die(const absl::Status& status) {
    std::fprintf(stderr, "link_benchmark: %s\n", status.ToString().c_str());
    std::abort();
  }

  static int Serve(const std::string& token) {
    ring::bench::BecomePeer();
    absl::StatusOr<Link> end = AdoptEnd(token);
    if (!end.ok()) return 1;
    std::byte one{1};
    uint64_t checksums = 0;
    while (true) {
      absl::StatusOr<Message> request = end->Receive(absl::InfiniteFuture());
      if (!request.ok()) return 0;  // the client went away
      absl::Status replied;
      if (request->command == kReadBuffer) {
        checksums += Checksum(request->peer_buffer.data());
        one = static_cast<std::byte>(checksums);
        replied = end->Reply(request->id, absl::OkStatus(), {&one, 1});
      } else {
        replied = end->Reply(request->id, absl::OkStatus(), request->data);
      }
      if (!replied.ok()) return 2;
    }
  }

  Link client_;
  std::optional<ChildProcess> server_;
};

void BM_RingRoundTrip(benchmark::State& state, ring::WaitMode mode) {
  std::unique_ptr<ring::bench::RoundTripper> peer = ring::bench::StartRingEcho(mode, kInline);
  for (auto _ : state) {
    if (!peer->RoundTrip()) {
      state.SkipWithError("the peer stopped answering");
      break;
    }
  }
}

void BM_LinkCall(benchmark::State& state, ring::WaitMode mode) {
  LinkServer server(mode);
  std::vector<std::byte> payload(kInline, std::byte{0x5a});
  absl::Time deadline;
  uint64_t count = 0;
  for (auto _ : state) {
    if (count++ % 1024 == 0) deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<Message> reply = server.client().Call(kEcho, payload, {}, deadline);
    if (!reply.ok() || !reply->status.ok()) {
      state.SkipWithError("call failed");
      break;
    }
  }
}

// One iteration is a slice of ring round trips and then a slice of link calls, each with
// the other's peer stopped, so that only one peer uses the peer CPU. Counters: the median
// of the per-pair ratios, and the median of each side's slices. Its time is that of a whole
// pair, about 4 ms: read the counters.
void BM_LinkVsRing(benchmark::State& state, ring::WaitMode mode) {
  std::unique_ptr<ring::bench::RoundTripper> ring = ring::bench::StartRingEcho(mode, kInline);
  LinkServer link(mode);
  std::vector<std::byte> payload(kInline, std::byte{0x5a});
  absl::Time deadline;
  auto call = [&] {
    absl::StatusOr<Message> reply = link.client().Call(kEcho, payload, {}, deadline);
    return reply.ok() && reply->status.ok();
  };
  ring::bench::AlternatingSlices slices(ring->peer_pid(), link.pid());
  for (auto _ : state) {
    if (!slices.RunPair([&] { return ring->RoundTrip(); }, call,
                        [&] { deadline = absl::Now() + absl::Seconds(10); })) {
      state.SkipWithError("a round trip failed");
      break;
    }
  }
  state.counters["link_vs_ring"] = slices.MedianRatio();
  state.counters["ring_ns"] = slices.MedianFloorNanos();
  state.counters["link_ns"] = slices.MedianSubjectNanos();
}

#define LINK_MODES(bm)                                                   \
  BENCHMARK_CAPTURE(bm, spin, ring::WaitMode::kSpin)->UseRealTime();     \
  BENCHMARK_CAPTURE(bm, hybrid, ring::WaitMode::kHybrid)->UseRealTime(); \
  BENCHMARK_CAPTURE(bm, blocking, ring::WaitMode::kBlocking)->UseRealTime()

LINK_MODES(BM_RingRoundTrip);
LINK_MODES(BM_LinkCall);
LINK_MODES(BM_LinkVsRing);

void BM_LinkDma128K(benchmark::State& state) {
  LinkServer server(ring::WaitMode::kHybrid);
  std::vector<std::byte> source(kDmaBytes, std::byte{0x33});
  absl::StatusOr<DmaBuffer> buffer = server.client().AllocateBuffer(kDmaBytes);
  if (!buffer.ok()) {
    state.SkipWithError("no DMA buffer");
    return;
  }
  DmaBuffer lent = *std::move(buffer);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (auto _ : state) {
    std::memcpy(lent.data().data(), source.data(), kDmaBytes);
    absl::StatusOr<Message> reply =
        server.client().Call(kReadBuffer, {}, {std::move(lent), DmaDirection::kToTarget}, deadline);
    if (!reply.ok() || !reply->status.ok() || !reply->returned_buffer.valid()) {
      state.SkipWithError("DMA call failed");
      break;
    }
    lent = std::move(reply->returned_buffer);
  }
  state.SetBytesProcessed(state.iterations() * kDmaBytes);
}
BENCHMARK(BM_LinkDma128K)->UseRealTime();

// The floor: the same bytes copied into shared memory and read on the other CPU, with one
// spinning flag each way.
void BM_CopyFloor128K(benchmark::State& state) {
  struct Shared {
    alignas(64) std::atomic<uint64_t> sent;
    alignas(64) std::atomic<uint64_t> read;
    alignas(4096) std::byte bytes[kDmaBytes];
  };
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Create("copy-floor", sizeof(Shared));
  if (!region.ok()) {
    state.SkipWithError("no region");
    return;
  }
  ChildProcess peer = ChildProcess::Fork([&] {
    ring::bench::BecomePeer();
    absl::StatusOr<ring::SharedRegion> mine =
        ring::SharedRegion::Map(UniqueFd(dup(region->fd())), sizeof(Shared));
    if (!mine.ok()) return 1;
    auto* shared = reinterpret_cast<Shared*>(mine->data());
    uint64_t checksums = 0;
    for (uint64_t n = 1;; ++n) {
      while (shared->sent.load(std::memory_order_acquire) != n) ring::internal::CpuRelax();
      checksums += Checksum(shared->bytes);
      benchmark::DoNotOptimize(checksums);
      shared->read.store(n, std::memory_order_release);
    }
  });
  auto* shared = reinterpret_cast<Shared*>(region->data());
  std::vector<std::byte> source(kDmaBytes, std::byte{0x33});
  uint64_t n = 0;
  for (auto _ : state) {
    std::memcpy(shared->bytes, source.data(), kDmaBytes);
    shared->sent.store(++n, std::memory_order_release);
    while (shared->read.load(std::memory_order_acquire) != n) ring::internal::CpuRelax();
  }
  state.SetBytesProcessed(state.iterations() * kDmaBytes);
}
BENCHMARK(BM_CopyFloor128K)->UseRealTime();

// 128 KiB through a socketpair, read in full by the peer, answered with one byte.
void BM_SocketPair128K(benchmark::State& state) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    state.SkipWithError("no socketpair");
    return;
  }
  UniqueFd ours(fds[0]), theirs(fds[1]);
  ChildProcess peer = ChildProcess::Fork([&] {
    ring::bench::BecomePeer();
    ours.Reset();
    std::vector<std::byte> copy(kDmaBytes);
    while (true) {
      size_t got = 0;
      while (got < kDmaBytes) {
        ssize_t n = read(theirs.get(), copy.data() + got, kDmaBytes - got);
        if (n <= 0) return 0;
        got += n;
      }
      char one = 1;
      if (write(theirs.get(), &one, 1) != 1) return 1;
    }
  });
  theirs.Reset();
  std::vector<std::byte> source(kDmaBytes, std::byte{0x33});
  for (auto _ : state) {
    size_t sent = 0;
    while (sent < kDmaBytes) {
      ssize_t n = write(ours.get(), source.data() + sent, kDmaBytes - sent);
      if (n <= 0) break;
      sent += n;
    }
    char one;
    if (sent != kDmaBytes || read(ours.get(), &one, 1) != 1) {
      state.SkipWithError("socketpair exchange failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * kDmaBytes);
}
BENCHMARK(BM_SocketPair128K)->UseRealTime();

void PrintSummary(const testing::BenchmarkMedians& medians) {
  std::printf("\n");
  for (ring::WaitMode mode :
       {ring::WaitMode::kSpin, ring::WaitMode::kHybrid, ring::WaitMode::kBlocking}) {
    const std::string name(ring::WaitModeName(mode));
    std::map<std::string, double> paired =
        medians.Get(absl::StrCat("BM_LinkVsRing/", name, "/real_time")).counters;
    if (paired["link_vs_ring"] > 0) {
      std::printf("link rtt %s: %.2fx ring (%.0f ns vs %.0f ns, in alternating slices)\n",
                  name.c_str(), paired["link_vs_ring"], paired["link_ns"], paired["ring_ns"]);
    }
    std::string suffix = absl::StrCat("/", name, "/real_time");
    double ring_rtt = medians.NanosPerIteration("BM_RingRoundTrip" + suffix);
    double link_rtt = medians.NanosPerIteration("BM_LinkCall" + suffix);
    if (ring_rtt <= 0 || link_rtt <= 0) continue;
    std::printf("link rtt %s, run one after the other: %.2fx ring (%.0f ns vs %.0f ns)\n",
                name.c_str(), link_rtt / ring_rtt, link_rtt, ring_rtt);
  }
  double dma = medians.Get("BM_LinkDma128K/real_time").bytes_per_second;
  double floor = medians.Get("BM_CopyFloor128K/real_time").bytes_per_second;
  double socket = medians.Get("BM_SocketPair128K/real_time").bytes_per_second;
  if (dma > 0 && floor > 0 && socket > 0) {
    std::printf(
        "link dma 128KiB: %.1f GB/s = %.2fx floor, %.1fx socketpair "
        "(floor %.1f GB/s, socketpair %.1f GB/s)\n",
        dma / 1e9, dma / floor, dma / socket, floor / 1e9, socket / 1e9);
  }
}

}  // namespace
}  // namespace syslink

int main(int argc, char** argv) {
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  syslink::PrintSummary(medians);
  return 0;
}
