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

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "ring/bench/alternating.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "ring/internal/cpu_relax.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "syslink/end_transfer.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/link.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"

namespace syslink {
namespace {

using ::syslink::internal::CycleCount;
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

// What a server stamps (CycleCount()) for one request: when its poll found the request
// ready, when the layer handed it over (RingConsumer::Read() or Link::Receive() returned),
// and when its reply was published (RingProducer::Write() or Link::Reply() returned). A
// stamp is when a call returned: the stores it made may still be on their way to the
// other CPU.
struct ServerStamps {
  uint64_t ready;
  uint64_t taken;
  uint64_t published;
};

// A server's stamps of its last kTrips requests, in a shared anonymous mapping made before
// the fork. The server writes a request's stamps after its reply is published, then stores
// `answered` with release; the parent reads them only after its run, once an acquire load
// of `answered` covers every request it sent, so no line of it moves while it measures.
struct StampLog {
  static constexpr uint64_t kTrips = 1 << 14;
  alignas(64) std::atomic<uint64_t> answered;
  alignas(64) ServerStamps trips[kTrips];  // request n at n % kTrips

  // In the server: its pages faulted in before the first request.
  void Touch() { std::memset(trips, 0, sizeof(trips)); }
  // In the server, once request n's reply is published.
  void Add(uint64_t n, const ServerStamps& stamps) {
    trips[n % kTrips] = stamps;
    answered.store(n + 1, std::memory_order_release);
  }
};

// Owns a StampLog mapped MAP_SHARED | MAP_ANONYMOUS: a child forked later shares it.
class SharedStampLog {
 public:
  SharedStampLog() {
    void* memory =
        mmap(nullptr, sizeof(StampLog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      std::perror("link_benchmark: mmap");
      std::abort();
    }
    log_ = new (memory) StampLog();
  }
  SharedStampLog(const SharedStampLog&) = delete;
  SharedStampLog& operator=(const SharedStampLog&) = delete;
  ~SharedStampLog() { munmap(log_, sizeof(StampLog)); }

  StampLog& operator*() const { return *log_; }

 private:
  StampLog* log_;
};

// A forked server on the other CPU that answers every request on its end of a link. With a
// `log`, it stamps its steps there (and waits for requests itself, see AwaitRequest).
class LinkServer {
 public:
  explicit LinkServer(ring::WaitMode mode, StampLog* log = nullptr) {
    LinkOptions options;
    options.wait.mode = mode;
    absl::StatusOr<LinkPair> pair = Link::CreatePair(options);
    if (!pair.ok()) Die(pair.status());
    client_ = std::move(pair->first);
    absl::StatusOr<std::string> token = ReleaseForChild(std::move(pair->second));
    if (!token.ok()) Die(token.status());
    server_.emplace(ChildProcess::Fork(
        [&] { return log != nullptr ? ServeStamped(*token, mode, *log) : Serve(*token); }));
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

  // Echoes every request, stamping each step in `log`.
  static int ServeStamped(const std::string& token, ring::WaitMode mode, StampLog& log) {
    ring::bench::BecomePeer();
    absl::StatusOr<Link> end = AdoptEnd(token);
    if (!end.ok()) return 1;
    log.Touch();
    const pid_t parent = getppid();
    for (uint64_t n = 0;; ++n) {
      ServerStamps stamps;
      if (!AwaitRequest(*end, mode, parent)) return 0;
      stamps.ready = CycleCount();
      absl::StatusOr<Message> request = end->Receive(absl::InfinitePast());
      stamps.taken = CycleCount();
      if (!request.ok()) return 0;  // the client went away
      if (!end->Reply(request->id, absl::OkStatus(), request->data).ok()) return 2;
      stamps.published = CycleCount();
      log.Add(n, stamps);
    }
  }

  // Waits until Ready() as the mode's Receive() would: spinning on the ring (hybrid too: a
  // busy client never outlasts the spin budget), or, blocking, asleep in poll() on fd() as
  // an event loop does. False if the client's process is gone.
  static bool AwaitRequest(Link& end, ring::WaitMode mode, pid_t parent) {
    if (mode != ring::WaitMode::kBlocking) {
      return ring::bench::SpinWhilePeerLives([&] { return end.Ready(); }, parent);
    }
    while (!end.Ready() && end.PrepareToPoll()) {
      struct pollfd p = {end.fd(), POLLIN, 0};
      if (poll(&p, 1, -1) == 1 && (p.revents & (POLLHUP | POLLERR))) return false;
    }
    return true;
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

// The cache-line floor just now (ring_benchmark's BM_CacheLineFloor): which placement the
// VM gave the two vCPUs, about 70 ns when close and 450 ns when far. The median of 3 slices
// of about 2 ms.
double CacheLineNanos() {
  std::unique_ptr<ring::bench::RoundTripper> line = ring::bench::StartCacheLineEcho();
  std::vector<double> slices;
  for (int i = 0; i < 3; ++i) {
    std::optional<double> ns = ring::bench::SliceNanos([&] { return line->RoundTrip(); });
    if (ns) slices.push_back(*ns);
  }
  return ring::bench::Median(slices);
}

// What the client stamps for one round trip: when its send returned, and when it found the
// reply (its wait ended).
struct ClientStamps {
  uint64_t sent;
  uint64_t seen;
};

// The ring layer alone, as StartRingEcho() measures it (a 64 KiB ring each way, the server
// echoes each record), with the server's steps stamped in a StampLog.
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

// The median of `cycles`, and the mean of its middle 90%. The time-stamp counter may tick
// coarsely (on the AMD EPYC VM this was written on, by 21 at a time: 10 ns), so the median
// of a step a few ticks long is coarse too; the mean of ticks falling at random phases is
// not, and without its tails no interrupt throws it.
std::pair<double, double> MedianAndMiddleMean(std::vector<double> cycles) {
  if (cycles.empty()) return {0, 0};
  std::sort(cycles.begin(), cycles.end());
  const size_t cut = cycles.size() / 20;
  double sum = 0;
  for (size_t i = cut; i < cycles.size() - cut; ++i) sum += cycles[i];
  return {cycles[cycles.size() / 2], sum / static_cast<double>(cycles.size() - 2 * cut)};
}

// Over the last StampLog::kTrips round trips, as counters (in TSC cycles, the median also in
// ns by the counter's rate over the run): the server's steps, the client's view, and the
// medians of the one-way flights between them: from a send returning to the other side's
// poll finding the record, negative when it was found first. A flight compares the two
// CPUs' counters (the VM keeps them in step); the two flights' sum does not.
void ReportSteps(benchmark::State& state, const StampLog& log,
                 const std::vector<ClientStamps>& client, uint64_t trips, double cycles_per_ns,
                 double line_ns) {
  std::vector<double> from_ready, from_taken, client_view, request_flight, reply_flight;
  for (uint64_t n = trips - std::min(trips, StampLog::kTrips); n < trips; ++n) {
    const ServerStamps& s = log.trips[n % StampLog::kTrips];
    const ClientStamps& c = client[n % StampLog::kTrips];
    from_ready.push_back(static_cast<double>(s.published - s.ready));
    from_taken.push_back(static_cast<double>(s.published - s.taken));
    client_view.push_back(static_cast<double>(c.seen - c.sent));
    request_flight.push_back(static_cast<double>(static_cast<int64_t>(s.ready - c.sent)));
    reply_flight.push_back(static_cast<double>(static_cast<int64_t>(c.seen - s.published)));
  }
  auto report = [&](const std::string& name, std::vector<double> cycles) {
    auto [median, mean] = MedianAndMiddleMean(std::move(cycles));
    state.counters[name] = median;
    state.counters[name + "_ns"] = median / cycles_per_ns;
    state.counters[name + "_avg"] = mean;
  };
  report("ready_to_pub", std::move(from_ready));
  report("taken_to_pub", std::move(from_taken));
  report("client", std::move(client_view));
  state.counters["req_flight"] = MedianAndMiddleMean(std::move(request_flight)).first;
  state.counters["reply_flight"] = MedianAndMiddleMean(std::move(reply_flight)).first;
  state.counters["line_ns"] = line_ns;
}

// Runs the client's side of a stamped benchmark: `round_trip(stamps)` makes one round trip
// and stamps it. The server's stamps are read once it has stamped every request.
template <typename RoundTrip>
void RunStamped(benchmark::State& state, double line_ns, pid_t server, const StampLog& log,
                RoundTrip round_trip) {
  std::vector<ClientStamps> client(StampLog::kTrips);
  uint64_t trips = 0;
  const uint64_t start_cycles = CycleCount();
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    if (!round_trip(client[trips % StampLog::kTrips])) {
      state.SkipWithError("a round trip failed");
      return;
    }
    ++trips;
  }
  const double cycles_per_ns = static_cast<double>(CycleCount() - start_cycles) /
                               absl::ToDoubleNanoseconds(absl::Now() - start);
  if (!ring::bench::SpinWhilePeerLives(
          [&] { return log.answered.load(std::memory_order_acquire) >= trips; }, server)) {
    state.SkipWithError("the server stopped stamping");
    return;
  }
  ReportSteps(state, log, client, trips, cycles_per_ns, line_ns);
}

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

// One layer's steps in one mode, in cycles of the time-stamp counter (and ns), if it ran.
void PrintSteps(const testing::BenchmarkMedians& medians, const char* layer,
                const std::string& benchmark, const char* take, const char* publish,
                ring::WaitMode mode) {
  const std::string name(ring::WaitModeName(mode));
  std::map<std::string, double> steps =
      medians.Get(absl::StrCat(benchmark, "/", name, "/real_time")).counters;
  if (steps["client"] <= 0) return;
  std::printf(
      "%s steps %s: ready to %s %.0f cycles (%.0f ns; mean %.0f), %s to %s %.0f (%.0f ns; "
      "mean %.0f); the client's send to reply %.0f (%.0f ns; mean %.0f), flights %.0f + %.0f; "
      "cache line %.0f ns\n",
      layer, name.c_str(), publish, steps["ready_to_pub"], steps["ready_to_pub_ns"],
      steps["ready_to_pub_avg"], take, publish, steps["taken_to_pub"], steps["taken_to_pub_ns"],
      steps["taken_to_pub_avg"], steps["client"], steps["client_ns"], steps["client_avg"],
      steps["req_flight"], steps["reply_flight"], steps["line_ns"]);
}

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
}  // namespace syslink

int main(int argc, char** argv) {
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  syslink::PrintSummary(medians);
  return 0;
}
