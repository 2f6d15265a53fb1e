// The outstanding-request mirror: each end's table of the requests it has sent and not
// seen answered, kept in the link's region for the broker to read.
//
// The broker reads the mirror when an end's last holder is gone, to write a synthetic
// PEER_DIED reply for every request the surviving end is still waiting on, and syslinkctl
// shows it (request ids, commands, ages, DMA bytes lent). docs/wire-format.md specifies it
// in prose.
//
// One writer: the end that owns the table. A slot is filled (command, state, time, DMA
// bytes, then `id` with release) when a request is sent, and its time made exact just after
// the request is published (until then it may be that of the end's previous step). It is
// emptied (`id` = 0, release) when its reply arrives or, for a request given up on, when
// the late reply arrives or the peer is gone. Giving up on a request (its deadline passed, or it
// was cancelled) sets kMirrorGivenUp in `state` (release). Readers load `id` with acquire and copy
// the slot; everything read is untrusted: the broker writes replies only into the ring of the end
// that is gone, and the survivor checks them like any other reply.
//
// The target of a request also reads its slot (the request's header names it) to learn
// whether the requester still waits for the answer: see RequestWatch in syslink/link.h.

#ifndef SYSLINK_SYSLINK_MIRROR_FORMAT_H_
#define SYSLINK_SYSLINK_MIRROR_FORMAT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace syslink {

// Requests one end may have outstanding (including those given up on and not yet answered).
inline constexpr uint32_t kMirrorSlots = 4096;

// MirrorSlot::state bits.
inline constexpr uint32_t kMirrorGivenUp = 1;  // the requester no longer waits for the reply

struct MirrorSlot {
  std::atomic<uint64_t> id;  // 0: empty
  uint32_t command;
  std::atomic<uint32_t> state;  // kMirrorGivenUp or 0
  uint64_t sent_cycles;         // when the request was sent: the time-stamp counter (cycle_clock.h)
  uint64_t dma_bytes;           // bytes of the sender's arena lent with it
};

static_assert(sizeof(MirrorSlot) == 32);

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint32_t>) == 4);

inline constexpr size_t kMirrorBytes = kMirrorSlots * sizeof(MirrorSlot);

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_MIRROR_FORMAT_H_
