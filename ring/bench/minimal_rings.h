// The least a ring can do: three floors that separate the cost of a ring's memory traffic
// from the cost of syslink's ring software.
//
//   std::unique_ptr<RoundTripper> slots = StartStampedSlotEcho();
//   std::unique_ptr<RoundTripper> bare = StartBareRingEcho();
//
// The cache-line floor (StartCacheLineEcho) bounces one line between the CPUs. A ring
// cannot: each message goes to the next place in the ring, a line the other CPU last
// touched a lap ago. These three measure that, with nothing else on top:
//
//   stamped slots: 64-byte slots round a 64 KiB ring each way. A message fills one slot,
//       56 bytes and a sequence number in the same line, and the reader spins on that
//       number: one line per message, no index. It has no flow control (the echo never
//       has more than one message in flight), so it is a floor, not a usable ring.
//   two-line slots: as stamped slots, but a slot is an 8-byte stamp and a 64-byte message,
//       128 bytes: the message's last 8 bytes are on a second line, as a ring record's
//       64-byte payload is (ring_format.h), and the reader asks for that line while it
//       spins, as RingConsumer does. What a 64-byte payload's layout costs with no software.
//   bare ring: the layout of ring format version 1, without checks, status or waiting
//       modes. 72-byte records (an 8-byte header and 64 bytes of payload) packed back to
//       back in 64 KiB, published by a producer index on its own line and released by a
//       consumer index on another. Version 2 (ring_format.h) stamps each header instead,
//       and its consumer never reads the producer's index; this floor shows what that saves.
//
// The two raw floors declared in ping_pong.h are built here the same way: the cache line
// is OneLine, and a line each way is a ring of stamped slots with one slot.
//
// Each Start* forks a peer pinned to kPeerCpu that echoes until the RoundTripper is
// destroyed. Thread safety: one thread at a time. Ownership: the RoundTripper owns its
// peer process.

#ifndef SYSLINK_RING_BENCH_MINIMAL_RINGS_H_
#define SYSLINK_RING_BENCH_MINIMAL_RINGS_H_

#include <memory>

#include "ring/bench/ping_pong.h"

namespace syslink::ring::bench {

std::unique_ptr<RoundTripper> StartStampedSlotEcho();
std::unique_ptr<RoundTripper> StartTwoLineSlotEcho();
std::unique_ptr<RoundTripper> StartBareRingEcho();

}  // namespace syslink::ring::bench

#endif  // SYSLINK_RING_BENCH_MINIMAL_RINGS_H_
