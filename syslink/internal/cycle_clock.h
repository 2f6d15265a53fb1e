// CycleCount(): a cheap, monotonic count for telling "just now" from "a while ago".
//
// On x86-64 it is the time-stamp counter (a few nanoseconds to read, no system call; this
// project's machines have an invariant TSC), elsewhere the monotonic clock. Only the order
// of magnitude of a difference is meaningful: kCyclesPerMillisecond is an estimate.

#ifndef SYSLINK_SYSLINK_INTERNAL_CYCLE_CLOCK_H_
#define SYSLINK_SYSLINK_INTERNAL_CYCLE_CLOCK_H_

#include <cstdint>
#include <ctime>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace syslink::internal {

// About a millisecond of counts on current hardware (2-4 GHz TSCs).
inline constexpr uint64_t kCyclesPerMillisecond = 3'000'000;

inline uint64_t CycleCount() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 3'000'000'000ull + t.tv_nsec * 3ull;
#endif
}

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_CYCLE_CLOCK_H_
