// Helpers shared by the benchmarks' two-process round trips and streams: the forked peer's
// set-up, the shared region it maps, and the spin that gives up when the peer is gone.
//
// Thread safety: the functions are safe from any thread. Errors: CreateRegion aborts
// (a benchmark without its region cannot run); MapInPeer returns nullopt.

#ifndef SYSLINK_RING_BENCH_PEER_H_
#define SYSLINK_RING_BENCH_PEER_H_

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "ring/internal/cpu_relax.h"
#include "ring/shared_region.h"

namespace syslink::ring::bench {

// The CPU every forked peer pins itself to; the measuring process sits on CPU 0.
inline constexpr int kPeerCpu = 1;

// The first call in a forked peer: pins it to kPeerCpu and has the kernel kill it when the
// process that forked it dies (PR_SET_PDEATHSIG), so that a benchmark killed with SIGKILL
// leaves no peer spinning behind.
void BecomePeer();

// A sealed region of `size` bytes. Aborts, saying why, if it cannot be made.
SharedRegion CreateRegion(const char* name, size_t size);

// The peer's own mapping of `region`, from a duplicate of its inherited descriptor
// (mappings made with MADV_DONTFORK are not inherited).
std::optional<SharedRegion> MapInPeer(const SharedRegion& region);

// Spins until done(); every few million spins checks that `peer` still lives. False if it
// does not.
template <typename Done>
bool SpinWhilePeerLives(Done done, pid_t peer) {
  for (uint64_t spins = 1;; ++spins) {
    if (done()) return true;
    internal::CpuRelax();
    if (spins % (1 << 22) == 0 && kill(peer, 0) != 0) return false;
  }
}

}  // namespace syslink::ring::bench

#endif  // SYSLINK_RING_BENCH_PEER_H_
