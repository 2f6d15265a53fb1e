// SpinPlace: one of the machine's places for a thread that spins on while it has no work,
// expecting some soon (CallerPace's links that follow their callers). There is one place
// fewer than the machine has CPUs (at least one), shared by every process that sees the
// same /dev/shm, so that spinning threads never take every CPU, however many servers run.
//
//   std::optional<SpinPlace> place = SpinPlace::TryTake();
//   if (place.has_value()) SpinLonger();   // the place is freed with `place`
//
// Each place is a file whose flock(2) its holder keeps: the kernel frees it when the
// holder's descriptor closes or its process dies, kill -9 included. A child made by fork()
// does not keep its parent's places (the descriptors are closed in it). The files are
// <directory>/syslink-spin-place-<n>, the directory /dev/shm unless the environment
// variable SYSLINK_SPIN_PLACES names another (on a local file system) when the process
// first asks; processes that name different directories, or live in containers with
// /dev/shm of their own, share no places. Anyone who may read a place's file may hold it:
// another local user can hold every place and so keep every server from following its
// callers. A path that is not a regular file (a FIFO, a symbolic link, a device) is a
// place nobody takes, and so is a file one cannot open: where no place file can be opened
// at all (no /dev/shm), no thread spins on.
//
// Holders() says who holds each place, without taking any: what a benchmark prints before
// it runs, since a stray holder (a server left running) keeps its links from following.
//
// Errors: none. TryTake() returns none when no place is free or none can be opened;
// Holders() reports a place it cannot see as free.
//
// Thread safety: TryTake(), Count() and Holders() from any thread. A SpinPlace is a
// move-only value.

#ifndef SYSLINK_RPC_INTERNAL_SPIN_PLACE_H_
#define SYSLINK_RPC_INTERNAL_SPIN_PLACE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "base/unique_fd.h"

namespace syslink::rpc::internal {

class SpinPlace {
 public:
  // A free place, now held; none when every place is held.
  static std::optional<SpinPlace> TryTake();
  // The places on this machine: one fewer than its CPUs, at least one.
  static int Count();
  // For each place, by number, the process holding it (as /proc/locks names it), or 0 if
  // it is free, missing, or not a regular file.
  static std::vector<pid_t> Holders();

  SpinPlace(SpinPlace&& other) noexcept;
  SpinPlace& operator=(SpinPlace&& other) noexcept;
  ~SpinPlace() { Drop(); }

 private:
  explicit SpinPlace(UniqueFd lock);
  // Frees the place: closes its file, unless this is a forked child, where the fork
  // handler closed that number already.
  void Drop();

  UniqueFd lock_;            // the place's file, flock()ed; invalid once moved from
  uint64_t generation_ = 0;  // the fork generation that opened it (fork_generation.h)
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_SPIN_PLACE_H_
