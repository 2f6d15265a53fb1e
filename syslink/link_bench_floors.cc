#include "syslink/link_bench_floors.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "ring/bench/alternating.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "ring/internal/cpu_relax.h"
#include "ring/shared_region.h"
#include "syslink/link_bench_server.h"
#include "tests/support/child_process.h"

namespace syslink::link_bench {

using ::syslink::testing::ChildProcess;

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

double CacheLineNanos() {
  std::unique_ptr<ring::bench::RoundTripper> line = ring::bench::StartCacheLineEcho();
  std::vector<double> slices;
  for (int i = 0; i < 3; ++i) {
    std::optional<double> ns = ring::bench::SliceNanos([&] { return line->RoundTrip(); });
    if (ns) slices.push_back(*ns);
  }
  return ring::bench::Median(slices);
}

}  // namespace syslink::link_bench
