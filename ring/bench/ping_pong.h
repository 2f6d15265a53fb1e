// Round trips to a peer process on the other CPU: the ring's and the raw floors beside it.
//
//   std::unique_ptr<RoundTripper> ring = StartRingEcho(WaitMode::kSpin, 64);
//   std::unique_ptr<RoundTripper> floor = StartCacheLineEcho();
//   for (int i = 0; i < n; ++i) ring->RoundTrip();
//
// Each Start* forks a peer pinned to CPU 1 (the caller should sit on CPU 0, see
// PinToCpu) that answers every ping until the RoundTripper is destroyed.
//
//   cache line: both sides spin on one shared 64-byte line, the fastest possible exchange.
//   line each way: each side writes its own line (56 bytes of message and a sequence
//               number) and spins on the other's; the least any ring moving a message
//               one way and its answer back can do.
//   futex:      each side sleeps in FUTEX_WAIT until the other wakes it.
//   ring:       a 64 KiB ring each way; the peer echoes each record back, same size.
//
// Thread safety: one thread at a time. Ownership: owns the peer process, which is told to
// stop (and killed if it does not) on destruction.

#ifndef SYSLINK_RING_BENCH_PING_PONG_H_
#define SYSLINK_RING_BENCH_PING_PONG_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>

#include "absl/time/time.h"
#include "ring/wait_mode.h"

namespace syslink::ring::bench {

class RoundTripper {
 public:
  virtual ~RoundTripper() = default;
  // One message to the peer and its answer back. False if the exchange failed.
  virtual bool RoundTrip() = 0;
  // The peer process, e.g. to stop it (SIGSTOP) while another benchmark uses its CPU.
  virtual pid_t peer_pid() const = 0;
};

std::unique_ptr<RoundTripper> StartCacheLineEcho();
std::unique_ptr<RoundTripper> StartLineExchangeEcho();
std::unique_ptr<RoundTripper> StartFutexEcho();
std::unique_ptr<RoundTripper> StartRingEcho(WaitMode mode, size_t payload_size);

// A one-way stream of 64-byte records from a peer producer; Next() consumes one.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Receives one record. False if the stream failed.
  virtual bool Next() = 0;
  // The producer process, e.g. to stop it (SIGSTOP) while another benchmark uses its CPU.
  virtual pid_t peer_pid() const = 0;
};

// The floor: a ring of fixed 64-byte slots with cached indexes, published in batches.
std::unique_ptr<RecordSource> StartFixedSlotStream();
// The same with 72-byte records (an 8-byte header and the 64 bytes) packed back to back,
// as syslink's ring lays them out: what the record layout costs, without the ring's code.
std::unique_ptr<RecordSource> StartPackedRecordStream();
// syslink's ring carrying 64-byte records, published and released in batches.
std::unique_ptr<RecordSource> StartRingStream(WaitMode mode);

// The records per batch both streams publish and release at once.
inline constexpr int kStreamBatch = 32;

// CPU seconds a hybrid consumer spends waiting `idle` for a record that never comes.
double HybridIdleConsumerCpuSeconds(absl::Duration idle);

}  // namespace syslink::ring::bench

#endif  // SYSLINK_RING_BENCH_PING_PONG_H_
