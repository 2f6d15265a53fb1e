#include "ring/bench/ping_pong.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

#include "absl/time/clock.h"
#include "ring/bench/peer.h"
#include "ring/internal/cpu_relax.h"
#include "ring/internal/futex.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "tests/support/child_process.h"

namespace syslink::ring::bench {
namespace {

using internal::CpuRelax;
using ::syslink::testing::ChildProcess;

constexpr size_t kRingCapacity = 64 << 10;

class FutexEcho final : public RoundTripper {
 public:
  pid_t peer_pid() const override { return peer_.pid(); }
  static constexpr uint32_t kPeerTurn = 1;
  static constexpr uint32_t kOurTurn = 2;

  FutexEcho()
      : region_(CreateRegion("pingpong-futex", 4096)),
        peer_(ChildProcess::Fork([this] { return Serve(); })),
        word_(reinterpret_cast<std::atomic<uint32_t>*>(region_.data())) {}

  bool RoundTrip() override {
    word_->store(kPeerTurn, std::memory_order_release);
    internal::FutexWakeAll(word_);
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (word_->load(std::memory_order_acquire) == kPeerTurn) {
      if (internal::FutexWait(word_, kPeerTurn, deadline) == internal::FutexWaitResult::kTimedOut) {
        return false;
      }
    }
    return true;
  }

 private:
  int Serve() {
    BecomePeer();
    std::optional<SharedRegion> mine = MapInPeer(region_);
    if (!mine) return 1;
    auto* word = reinterpret_cast<std::atomic<uint32_t>*>(mine->data());
    while (true) {
      uint32_t seen;
      while ((seen = word->load(std::memory_order_acquire)) != kPeerTurn) {
        internal::FutexWait(word, seen, absl::InfiniteFuture());
      }
      word->store(kOurTurn, std::memory_order_release);
      internal::FutexWakeAll(word);
    }
  }

  SharedRegion region_;
  ChildProcess peer_;
  std::atomic<uint32_t>* word_;
};

// Two rings in one region: requests at offset 0, answers right after.
constexpr size_t kRingBytes = RingFootprint(kRingCapacity);
std::span<std::byte> RequestRing(const SharedRegion& r) { return {r.data(), kRingBytes}; }
std::span<std::byte> AnswerRing(const SharedRegion& r) {
  return {r.data() + kRingBytes, kRingBytes};
}

SharedRegion CreateRingPair(WaitMode mode) {
  SharedRegion region = CreateRegion("pingpong-ring", 2 * kRingBytes);
  if (!InitializeRing(RequestRing(region), mode).ok() ||
      !InitializeRing(AnswerRing(region), mode).ok()) {
    abort();
  }
  return region;
}

class RingEcho final : public RoundTripper {
 public:
  pid_t peer_pid() const override { return peer_.pid(); }
  RingEcho(WaitMode mode, size_t payload_size)
      : options_{.mode = mode},
        payload_(payload_size, std::byte{0x5a}),
        region_(CreateRingPair(mode)),
        peer_(ChildProcess::Fork([this] { return Serve(); })),
        requests_(*RingProducer::Attach(RequestRing(region_), options_)),
        answers_(*RingConsumer::Attach(AnswerRing(region_), options_)) {}

  bool RoundTrip() override {
    // The clock is read once per 1024 round trips, not on every one.
    if (++count_ % 1024 == 1) deadline_ = absl::Now() + absl::Seconds(10);
    if (!requests_.Write(payload_, deadline_).ok()) return false;
    absl::StatusOr<Record> answer = answers_.Read(deadline_);
    if (!answer.ok()) return false;
    std::memcpy(payload_.data(), answer->payload.data(), answer->payload.size());
    answers_.Release();
    return true;
  }

 private:
  int Serve() {
    BecomePeer();
    std::optional<SharedRegion> mine = MapInPeer(region_);
    if (!mine) return 1;
    absl::StatusOr<RingConsumer> requests = RingConsumer::Attach(RequestRing(*mine), options_);
    absl::StatusOr<RingProducer> answers = RingProducer::Attach(AnswerRing(*mine), options_);
    if (!requests.ok() || !answers.ok()) return 2;
    while (true) {
      absl::StatusOr<Record> request = requests->Read(absl::InfiniteFuture());
      if (!request.ok()) return 3;
      if (!answers->Write(request->payload, absl::InfiniteFuture()).ok()) return 4;
      requests->Release();
    }
  }

  WaitOptions options_;
  std::vector<std::byte> payload_;
  SharedRegion region_;
  ChildProcess peer_;
  RingProducer requests_;
  RingConsumer answers_;
  uint64_t count_ = 0;
  absl::Time deadline_;
};

// The throughput floors: slots of kSlotBytes packed round the ring, one index per side on
// its own line, each side caching the other's index and publishing its own once per batch.
// With 64-byte slots a record is its 64 bytes of payload alone (fixed slots); with 72-byte
// ones it has an 8-byte header before the payload, as syslink's ring records do, and slots
// straddle cache lines the same way (packed records).
template <size_t kSlotBytes>
struct SlotRing {
  static constexpr size_t kHeaderBytes = kSlotBytes - 64;
  static constexpr size_t kSlots = kRingCapacity / kSlotBytes;
  alignas(64) std::atomic<uint64_t> head;
  alignas(64) std::atomic<uint64_t> tail;
  alignas(64) std::byte slots[kSlots][kSlotBytes];
};

template <size_t kSlotBytes>
class SlotStream final : public RecordSource {
  using Ring = SlotRing<kSlotBytes>;

 public:
  SlotStream()
      : region_(CreateRegion("stream-slots", sizeof(Ring))),
        peer_(ChildProcess::Fork([this] { return Produce(); })),
        ring_(reinterpret_cast<Ring*>(region_.data())) {}

  bool Next() override {
    if (read_ == cached_head_) {
      ring_->tail.store(read_, std::memory_order_release);
      if (!SpinWhilePeerLives(
              [&] { return (cached_head_ = ring_->head.load(std::memory_order_acquire)) != read_; },
              peer_.pid())) {
        return false;
      }
    }
    const std::byte* slot = ring_->slots[read_ % Ring::kSlots];
    size_t payload = 64;
    if constexpr (Ring::kHeaderBytes > 0) {
      uint32_t size;
      std::memcpy(&size, slot, sizeof(size));
      payload = std::min<size_t>(size, 64);
    }
    std::memcpy(record_, slot + Ring::kHeaderBytes, payload);
    if (++read_ % kStreamBatch == 0) ring_->tail.store(read_, std::memory_order_release);
    return true;
  }
  pid_t peer_pid() const override { return peer_.pid(); }

 private:
  int Produce() {
    BecomePeer();
    std::optional<SharedRegion> mine = MapInPeer(region_);
    if (!mine) return 1;
    auto* ring = reinterpret_cast<Ring*>(mine->data());
    std::byte record[kSlotBytes] = {};
    const uint32_t size = 64;
    if constexpr (Ring::kHeaderBytes > 0) std::memcpy(record, &size, sizeof(size));
    uint64_t head = 0, cached_tail = 0;
    while (true) {
      for (int i = 0; i < kStreamBatch; ++i, ++head) {
        while (head - cached_tail == Ring::kSlots) {
          CpuRelax();
          cached_tail = ring->tail.load(std::memory_order_acquire);
        }
        record[Ring::kHeaderBytes] = static_cast<std::byte>(head);
        std::memcpy(ring->slots[head % Ring::kSlots], record, kSlotBytes);
      }
      ring->head.store(head, std::memory_order_release);
    }
  }

  SharedRegion region_;
  ChildProcess peer_;
  Ring* ring_;
  uint64_t read_ = 0;
  uint64_t cached_head_ = 0;
  std::byte record_[64];
};

class RingStream final : public RecordSource {
 public:
  explicit RingStream(WaitMode mode)
      : options_{.mode = mode},
        region_(CreateRingPair(mode)),
        peer_(ChildProcess::Fork([this] { return Produce(); })),
        consumer_(*RingConsumer::Attach(RequestRing(region_), options_)) {}

  bool Next() override {
    if (++count_ % 1024 == 1) deadline_ = absl::Now() + absl::Seconds(10);
    Record record;
    if (!consumer_.TryNext(record)) {
      if (!consumer_.status().ok()) return false;
      consumer_.Release();  // let the producer go on while we wait
      absl::StatusOr<Record> waited = consumer_.Read(deadline_);
      if (!waited.ok()) return false;
      record = *waited;
    }
    std::memcpy(record_, record.payload.data(), 64);
    if (count_ % kStreamBatch == 0) consumer_.Release();
    return true;
  }
  pid_t peer_pid() const override { return peer_.pid(); }

 private:
  int Produce() {
    BecomePeer();
    std::optional<SharedRegion> mine = MapInPeer(region_);
    if (!mine) return 1;
    absl::StatusOr<RingProducer> producer = RingProducer::Attach(RequestRing(*mine), options_);
    if (!producer.ok()) return 2;
    std::byte record[64] = {};
    for (uint64_t n = 0;; ++n) {
      absl::StatusOr<std::byte*> space = producer->TryReserve(64);
      if (!space.ok()) return 3;
      if (*space == nullptr) space = producer->Reserve(64, absl::InfiniteFuture());
      if (!space.ok()) return 4;
      record[0] = static_cast<std::byte>(n);
      std::memcpy(*space, record, 64);
      producer->Commit(64);
      if (n % kStreamBatch == kStreamBatch - 1) producer->Publish();
    }
  }

  WaitOptions options_;
  SharedRegion region_;
  ChildProcess peer_;
  RingConsumer consumer_;
  uint64_t count_ = 0;
  absl::Time deadline_;
  std::byte record_[64];
};

double CpuSeconds(const struct rusage& usage) {
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec * 1e-6;
}

}  // namespace

std::unique_ptr<RoundTripper> StartFutexEcho() { return std::make_unique<FutexEcho>(); }
std::unique_ptr<RoundTripper> StartRingEcho(WaitMode mode, size_t payload_size) {
  return std::make_unique<RingEcho>(mode, payload_size);
}
std::unique_ptr<RecordSource> StartFixedSlotStream() { return std::make_unique<SlotStream<64>>(); }
std::unique_ptr<RecordSource> StartPackedRecordStream() {
  return std::make_unique<SlotStream<72>>();
}
std::unique_ptr<RecordSource> StartRingStream(WaitMode mode) {
  return std::make_unique<RingStream>(mode);
}

double HybridIdleConsumerCpuSeconds(absl::Duration idle) {
  WaitOptions options{.mode = WaitMode::kHybrid};
  SharedRegion region = CreateRingPair(options.mode);
  struct rusage before, after;
  getrusage(RUSAGE_CHILDREN, &before);
  ChildProcess consumer = ChildProcess::Fork([&] {
    BecomePeer();
    std::optional<SharedRegion> mine = MapInPeer(region);
    if (!mine) return 1;
    absl::StatusOr<RingConsumer> ring = RingConsumer::Attach(RequestRing(*mine), options);
    if (!ring.ok()) return 2;
    absl::StatusOr<Record> record = ring->Read(absl::Now() + idle);
    return absl::IsDeadlineExceeded(record.status()) ? 0 : 3;
  });
  if (consumer.Wait() != ChildProcess::Exited(0)) return -1;
  getrusage(RUSAGE_CHILDREN, &after);
  return CpuSeconds(after) - CpuSeconds(before);
}

}  // namespace syslink::ring::bench
