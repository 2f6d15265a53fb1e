// SpinPlace: one of the machine's places for a thread that spins on while it has no work,
// expecting some soon (CallerPace's links that follow their callers). There is one place
// fewer than the machine has CPUs (at least one), shared by every process on the machine,
// so that spinning threads never take every CPU, however many servers run.
//
//   std::optional<SpinPlace> place = SpinPlace::TryTake();
//   if (place.has_value()) SpinLonger();   // the place is freed with `place`
//
// Each place is a file whose flock(2) its holder keeps: the kernel frees it when the
// holder's descriptor closes or its process dies, kill -9 included, so no place is ever
// lost. The files are <directory>/syslink-spin-place-<n>, the directory /dev/shm unless
// the environment variable SYSLINK_SPIN_PLACES names another when the process first asks
// (a test gives itself a directory of its own). Anyone who may read a place's file may
// hold it; a file one cannot open is a place one cannot take.
//
// Errors: none. When every place is held, or none can be opened, TryTake() returns none
// and the caller spins no longer than it otherwise would.
//
// Thread safety: TryTake() and Count() from any thread. A SpinPlace is a value (move-only).

#ifndef SYSLINK_RPC_INTERNAL_SPIN_PLACE_H_
#define SYSLINK_RPC_INTERNAL_SPIN_PLACE_H_

#include <optional>
#include <utility>

#include "base/unique_fd.h"

namespace syslink::rpc::internal {

class SpinPlace {
 public:
  // A free place, now held; none when every place is held.
  static std::optional<SpinPlace> TryTake();
  // The places on this machine: one fewer than its CPUs, at least one.
  static int Count();

  SpinPlace(SpinPlace&&) noexcept = default;
  SpinPlace& operator=(SpinPlace&&) noexcept = default;

 private:
  explicit SpinPlace(UniqueFd lock) : lock_(std::move(lock)) {}

  UniqueFd lock_;  // the place's file, flock()ed
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_SPIN_PLACE_H_
