// ring_pingpong: two processes on the two CPUs exchange 64-byte records over syslink's
// shared-memory ring, and the program prints what a round trip cost in each wait mode beside
// the raw floors measured in the same run.
//
//   bazel run --config=opt //examples/ring_pingpong -- [--mode=spin|hybrid|blocking]
//                                                     [--round_trips=N] [--runs=N]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ring/bench/ping_pong.h"
#include "ring/wait_mode.h"
#include "tests/support/child_process.h"

namespace syslink::ring {
namespace {

struct Flags {
  std::vector<WaitMode> modes = {WaitMode::kSpin, WaitMode::kHybrid, WaitMode::kBlocking};
  long round_trips = 200000;
  int runs = 5;
};

constexpr char kUsage[] =
    "usage: ring_pingpong [--mode=spin|hybrid|blocking] [--round_trips=N] [--runs=N]\n"
    "\n"
    "Forks a peer process on CPU 1 (this one stays on CPU 0) and measures round trips of a\n"
    "64-byte record over a pair of shared-memory rings, in each wait mode, beside the raw\n"
    "floors measured in the same run: a one-cache-line ping-pong (for spin and hybrid) and a\n"
    "futex ping-pong (for blocking). Prints the median of --runs runs and the ratios.\n"
    "\n"
    "  --mode=M         measure only mode M (default: all three)\n"
    "  --round_trips=N  round trips per run in spin and hybrid mode (default 200000;\n"
    "                   blocking mode does N/100, each costs two sleeps)\n"
    "  --runs=N         runs per measurement, the median is printed (default 5)\n";

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      size_t n = std::strlen(name);
      return arg.compare(0, n, name) == 0 ? arg.c_str() + n : nullptr;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (const char* m = value("--mode=")) {
      std::string mode = m;
      if (mode == "spin")
        flags.modes = {WaitMode::kSpin};
      else if (mode == "hybrid")
        flags.modes = {WaitMode::kHybrid};
      else if (mode == "blocking")
        flags.modes = {WaitMode::kBlocking};
      else {
        std::fprintf(stderr, "ring_pingpong: unknown mode '%s' (spin, hybrid or blocking)\n", m);
        return std::nullopt;
      }
    } else if (const char* n = value("--round_trips=")) {
      flags.round_trips = std::atol(n);
    } else if (const char* r = value("--runs=")) {
      flags.runs = std::atoi(r);
    } else {
      std::fprintf(stderr, "ring_pingpong: unknown argument '%s'\n\n%s", arg.c_str(), kUsage);
      return std::nullopt;
    }
  }
  if (flags.round_trips < 1 || flags.runs < 1) {
    std::fprintf(stderr, "ring_pingpong: --round_trips and --runs must be at least 1\n");
    return std::nullopt;
  }
  return flags;
}

// Median nanoseconds per round trip over `runs` runs of `count` round trips.
double MedianRoundTrip(bench::RoundTripper& peer, long count, int runs) {
  std::vector<double> results;
  for (int i = 0; i < runs; ++i) {
    absl::Time start = absl::Now();
    for (long n = 0; n < count; ++n) {
      if (!peer.RoundTrip()) {
        std::fprintf(stderr, "ring_pingpong: the peer stopped answering\n");
        std::exit(1);
      }
    }
    results.push_back(absl::ToDoubleNanoseconds(absl::Now() - start) / count);
  }
  std::sort(results.begin(), results.end());
  return results[results.size() / 2];
}

int Main(const Flags& flags) {
  testing::PinToCpu(0);
  std::printf("64-byte round trips between two processes, median of %d runs\n\n", flags.runs);
  double line = MedianRoundTrip(*bench::StartCacheLineEcho(), flags.round_trips, flags.runs);
  std::printf("  floor, one shared cache line  %9.0f ns\n", line);
  double futex = 0;
  long blocking_count = std::max(1L, flags.round_trips / 100);
  if (std::count(flags.modes.begin(), flags.modes.end(), WaitMode::kBlocking) > 0) {
    futex = MedianRoundTrip(*bench::StartFutexEcho(), blocking_count, flags.runs);
    std::printf("  floor, futex ping-pong        %9.0f ns\n", futex);
  }
  for (WaitMode mode : flags.modes) {
    bool blocking = mode == WaitMode::kBlocking;
    double rtt = MedianRoundTrip(*bench::StartRingEcho(mode, 64),
                                 blocking ? blocking_count : flags.round_trips, flags.runs);
    std::printf("  ring, %-8s                %9.0f ns  = %.2fx the %s floor\n",
                std::string(WaitModeName(mode)).c_str(), rtt, rtt / (blocking ? futex : line),
                blocking ? "futex" : "cache-line");
  }
  return 0;
}

}  // namespace
}  // namespace syslink::ring

int main(int argc, char** argv) {
  std::optional<syslink::ring::Flags> flags = syslink::ring::ParseFlags(argc, argv);
  if (!flags) return 2;
  return syslink::ring::Main(*flags);
}
