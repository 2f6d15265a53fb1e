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
//   BM_RingSteps/<mode>       where a ring round trip's time goes, in cycles of the TSC
//                             (CycleCount()) the server stamps: from its poll finding the
//                             request ready, and from Read() returning it, to its reply
//                             published; the client's, from its send returning to the
//                             reply found; and the cache-line floor just before
//   BM_LinkSteps/<mode>       the same for a link: from Ready() (blocking: poll() on fd())
//                             and from Receive() returning, to Reply() returning
//
// It ends with summary lines: medians of 3 runs as ratios to the floor in the same run. The
// link's ratio to the ring is BM_LinkVsRing's median per-pair ratio (the medians of
// BM_LinkCall and BM_RingRoundTrip, run one after the other, follow it). The steps' lines
// give each step's median and middle mean (MedianAndMiddleMean) over a run's last 16,384
// round trips.
//
// The forked link server and the log a server stamps its steps in are in
// link_bench_server.h, the floors in link_bench_floors.h, and the client's side of the
// steps' stamping in link_bench_steps.h.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "ring/bench/alternating.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "ring/wait_mode.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/link.h"
#include "syslink/link_bench_floors.h"
#include "syslink/link_bench_server.h"
#include "syslink/link_bench_steps.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink::link_bench {
namespace {

using ::syslink::internal::CycleCount;
using ::syslink::testing::ChildProcess;

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

// The floors of BM_LinkDma128K (link_bench_floors.h).
BENCHMARK(BM_CopyFloor128K)->UseRealTime();
BENCHMARK(BM_SocketPair128K)->UseRealTime();

// The ring layer alone, as StartRingEcho() measures it (a 64 KiB ring each way, the server
// echoes each record), with the server's steps stamped in a StampLog. Defined beside
// BM_RingSteps so that RoundTrip() can be inlined into its timed loop.
class RingStepServer {
 public:
  RingStepServer(ring::WaitMode mode, StampLog& log)
      : options_{.mode = mode},
        payload_(kInline, std::byte{0x5a}),
        region_(CreateRings(mode)),
        log_(log),
        server_(ChildProcess::Fork([this] { return Serve(); })),
        requests_(*ring::RingProducer::Attach(RequestRing(region_), options_)),
        answers_(*ring::RingConsumer::Attach(AnswerRing(region_), options_)) {}

  pid_t pid() const { return server_.pid(); }

  // One request and its answer; the client's wait spins on Ready() (blocking: sleeps in
  // Read()) so that `stamps.seen` is when the answer was found.
  bool RoundTrip(ClientStamps& stamps) {
    if (++count_ % 1024 == 1) deadline_ = absl::Now() + absl::Seconds(10);
    if (!requests_.Write(payload_, deadline_).ok()) return false;
    stamps.sent = CycleCount();
    if (options_.mode != ring::WaitMode::kBlocking &&
        !ring::bench::SpinWhilePeerLives([&] { return answers_.Ready(); }, pid())) {
      return false;
    }
    stamps.seen = CycleCount();
    absl::StatusOr<ring::Record> answer = answers_.Read(deadline_);
    if (options_.mode == ring::WaitMode::kBlocking) stamps.seen = CycleCount();
    if (!answer.ok()) return false;
    std::memcpy(payload_.data(), answer->payload.data(), answer->payload.size());
    answers_.Release();
    return true;
  }

 private:
  static constexpr size_t kRingBytes = ring::RingFootprint(64 << 10);
  static std::span<std::byte> RequestRing(const ring::SharedRegion& r) {
    return {r.data(), kRingBytes};
  }
  static std::span<std::byte> AnswerRing(const ring::SharedRegion& r) {
    return {r.data() + kRingBytes, kRingBytes};
  }
  static ring::SharedRegion CreateRings(ring::WaitMode mode) {
    ring::SharedRegion region = ring::bench::CreateRegion("steps-ring", 2 * kRingBytes);
    if (!ring::InitializeRing(RequestRing(region), mode).ok() ||
        !ring::InitializeRing(AnswerRing(region), mode).ok()) {
      std::abort();
    }
    return region;
  }

  // Waits as the client does (blocking: its wait is inside Read(), so ready is taken).
  int Serve() {
    ring::bench::BecomePeer();
    std::optional<ring::SharedRegion> mine = ring::bench::MapInPeer(region_);
    if (!mine) return 1;
    absl::StatusOr<ring::RingConsumer> requests =
        ring::RingConsumer::Attach(RequestRing(*mine), options_);
    absl::StatusOr<ring::RingProducer> answers =
        ring::RingProducer::Attach(AnswerRing(*mine), options_);
    if (!requests.ok() || !answers.ok()) return 2;
    log_.Touch();
    const pid_t parent = getppid();
    const bool spins = options_.mode != ring::WaitMode::kBlocking;
    for (uint64_t n = 0;; ++n) {
      ServerStamps stamps;
      if (spins && !ring::bench::SpinWhilePeerLives([&] { return requests->Ready(); }, parent)) {
        return 0;
      }
      stamps.ready = CycleCount();
      absl::StatusOr<ring::Record> request = requests->Read(absl::InfiniteFuture());
      stamps.taken = CycleCount();
      if (!spins) stamps.ready = stamps.taken;
      if (!request.ok()) return 3;
      if (!answers->Write(request->payload, absl::InfiniteFuture()).ok()) return 4;
      stamps.published = CycleCount();
      requests->Release();
      log_.Add(n, stamps);
    }
  }

  ring::WaitOptions options_;
  std::vector<std::byte> payload_;
  ring::SharedRegion region_;
  StampLog& log_;
  ChildProcess server_;
  ring::RingProducer requests_;
  ring::RingConsumer answers_;
  uint64_t count_ = 0;
  absl::Time deadline_;
};

void BM_RingSteps(benchmark::State& state, ring::WaitMode mode) {
  const double line_ns = CacheLineNanos();  // before the server takes the peer CPU
  SharedStampLog log;
  RingStepServer server(mode, *log);
  RunStamped(state, line_ns, server.pid(), *log,
             [&](ClientStamps& stamps) { return server.RoundTrip(stamps); });
}

// The client sends and then waits for the reply apart (Call() does both), to stamp
// between: spinning on Ready() (blocking: asleep in Receive()).
void BM_LinkSteps(benchmark::State& state, ring::WaitMode mode) {
  const double line_ns = CacheLineNanos();
  SharedStampLog log;
  LinkServer server(mode, &*log);
  Link& client = server.client();
  std::vector<std::byte> payload(kInline, std::byte{0x5a});
  const bool spins = mode != ring::WaitMode::kBlocking;
  absl::Time deadline;
  uint64_t count = 0;
  RunStamped(state, line_ns, server.pid(), *log, [&](ClientStamps& stamps) {
    if (count++ % 1024 == 0) deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<uint64_t> id = client.Send(kEcho, payload, {}, deadline);
    stamps.sent = CycleCount();
    if (!id.ok()) return false;
    if (spins && !ring::bench::SpinWhilePeerLives([&] { return client.Ready(); }, server.pid())) {
      return false;
    }
    stamps.seen = CycleCount();
    absl::StatusOr<Message> reply = client.Receive(spins ? absl::InfinitePast() : deadline);
    if (!spins) stamps.seen = CycleCount();
    return reply.ok() && reply->id == *id && reply->status.ok();
  });
}

LINK_MODES(BM_RingSteps);
LINK_MODES(BM_LinkSteps);

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
  for (ring::WaitMode mode :
       {ring::WaitMode::kSpin, ring::WaitMode::kHybrid, ring::WaitMode::kBlocking}) {
    PrintSteps(medians, "ring", "BM_RingSteps", "Read()", "Write()", mode);
    PrintSteps(medians, "link", "BM_LinkSteps", "Receive()", "Reply()", mode);
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
}  // namespace syslink::link_bench

int main(int argc, char** argv) {
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  syslink::link_bench::PrintSummary(medians);
  return 0;
}
