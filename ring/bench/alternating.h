// A subject's round trip beside a floor's, in alternating slices of about 2 ms: the VM
// moving its vCPUs between slices changes both alike, so the per-pair ratio is steadier than
// either time. Each side's peer process is stopped (SIGSTOP) while the other's slice runs,
// so that only one peer uses the peer CPU.
//
//   AlternatingSlices slices(ring->peer_pid(), server_pid);
//   for (auto _ : state) {
//     if (!slices.RunPair([&] { return ring->RoundTrip(); }, [&] { return Call(); })) ...
//   }
//   state.counters["stub_vs_ring"] = slices.MedianRatio();
//
// Thread safety: one thread at a time. Ownership: the peers are the caller's children;
// both are running again when this is destroyed (so that they can be told to stop).

#ifndef SYSLINK_RING_BENCH_ALTERNATING_H_
#define SYSLINK_RING_BENCH_ALTERNATING_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace syslink::ring::bench {

// Nanoseconds per `round_trip` over a slice of about 2 ms, after 32 untimed ones (the peer
// was just resumed). Nothing if a round trip failed.
template <typename RoundTrip>
std::optional<double> SliceNanos(RoundTrip round_trip) {
  for (int i = 0; i < 32; ++i) {
    if (!round_trip()) return std::nullopt;
  }
  uint64_t count = 0;
  const absl::Time start = absl::Now();
  absl::Time end;
  do {
    for (int i = 0; i < 16; ++i) {
      if (!round_trip()) return std::nullopt;
    }
    count += 16;
    end = absl::Now();
  } while (end - start < absl::Milliseconds(2));
  return absl::ToDoubleNanoseconds(end - start) / static_cast<double>(count);
}

// The median of `values` (0 when empty).
double Median(std::vector<double> values);

class AlternatingSlices {
 public:
  AlternatingSlices(pid_t floor_peer, pid_t subject_peer)
      : floor_peer_(floor_peer), subject_peer_(subject_peer) {}
  AlternatingSlices(const AlternatingSlices&) = delete;
  AlternatingSlices& operator=(const AlternatingSlices&) = delete;
  ~AlternatingSlices();

  // A slice of the floor, then one of the subject, each with the other's peer stopped.
  // `before_subject` runs between them (a deadline to set, say). False when a round trip
  // failed.
  template <typename Floor, typename Subject, typename BeforeSubject>
  bool RunPair(Floor floor, Subject subject, BeforeSubject before_subject) {
    Switch(subject_peer_, floor_peer_);
    std::optional<double> floor_slice = SliceNanos(floor);
    Switch(floor_peer_, subject_peer_);
    before_subject();
    std::optional<double> subject_slice = SliceNanos(subject);
    if (!floor_slice || !subject_slice) return false;
    floor_ns_.push_back(*floor_slice);
    subject_ns_.push_back(*subject_slice);
    ratios_.push_back(*subject_slice / *floor_slice);
    return true;
  }
  template <typename Floor, typename Subject>
  bool RunPair(Floor floor, Subject subject) {
    return RunPair(floor, subject, [] {});
  }

  // Medians over the pairs run: of the per-pair ratios subject / floor, and of each side.
  double MedianRatio() const { return Median(ratios_); }
  double MedianFloorNanos() const { return Median(floor_ns_); }
  double MedianSubjectNanos() const { return Median(subject_ns_); }

 private:
  // Stops `stop` (waiting until it has stopped) and resumes `resume`.
  static void Switch(pid_t stop, pid_t resume);

  const pid_t floor_peer_;
  const pid_t subject_peer_;
  std::vector<double> floor_ns_;
  std::vector<double> subject_ns_;
  std::vector<double> ratios_;
};

}  // namespace syslink::ring::bench

#endif  // SYSLINK_RING_BENCH_ALTERNATING_H_
