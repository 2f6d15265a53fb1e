#include "ring/bench/minimal_rings.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "ring/bench/peer.h"
#include "ring/shared_region.h"
#include "tests/support/child_process.h"

namespace syslink::ring::bench {
namespace {

using ::syslink::testing::ChildProcess;

constexpr size_t kBytesEachWay = 64 << 10;

// A round trip over the shared `Layout`: Exchange(n, peer) sends message n (from 1) and
// waits for its echo; Answer(parent) runs in the forked peer, on its own mapping, echoing
// until the parent is gone.
template <typename Layout>
class Echo final : public RoundTripper {
 public:
  pid_t peer_pid() const override { return peer_.pid(); }
  explicit Echo(const char* name)
      : region_(CreateRegion(name, sizeof(Layout))),
        peer_(ChildProcess::Fork([this] { return Serve(); })),
        layout_(reinterpret_cast<Layout*>(region_.data())) {}

  bool RoundTrip() override { return layout_->Exchange(++sequence_, peer_.pid()); }

 private:
  int Serve() {
    BecomePeer();
    std::optional<SharedRegion> mine = MapInPeer(region_);
    if (!mine) return 1;
    reinterpret_cast<Layout*>(mine->data())->Answer(getppid());
    return 0;
  }

  SharedRegion region_;
  ChildProcess peer_;
  Layout* layout_;
  uint64_t sequence_ = 0;
};

// ---- One line ----

struct OneLine {
  alignas(64) std::atomic<uint64_t> value;  // 2n - 1: message n sent; 2n: answered

  bool Exchange(uint64_t n, pid_t peer) {
    value.store(2 * n - 1, std::memory_order_release);
    return SpinWhilePeerLives([&] { return value.load(std::memory_order_acquire) == 2 * n; }, peer);
  }
  void Answer(pid_t parent) {
    for (uint64_t n = 1; SpinWhilePeerLives(
             [&] { return value.load(std::memory_order_acquire) == 2 * n - 1; }, parent);
         ++n) {
      value.store(2 * n, std::memory_order_release);
    }
  }
};

// ---- Stamped slots (one slot each way: a line each way) ----

// One line: 56 bytes of message and the stamp after them.
struct alignas(64) Slot {
  static constexpr bool kTwoLines = false;
  std::byte message[56];
  std::atomic<uint64_t> sequence;  // n once message n is in place; 0 in a fresh region
};

// Two lines: the stamp, then a 64-byte message whose last 8 bytes are on the second line,
// as a ring record's 64-byte payload is.
struct alignas(64) TwoLineSlot {
  static constexpr bool kTwoLines = true;
  std::atomic<uint64_t> sequence;  // n once message n is in place; 0 in a fresh region
  std::byte message[64];
};
static_assert(sizeof(TwoLineSlot) == 128);

template <typename SlotType, uint64_t kSlotsEachWay>
struct StampedSlots {
  static constexpr size_t kMessage = sizeof(SlotType::message);
  SlotType to_peer[kSlotsEachWay];
  SlotType to_us[kSlotsEachWay];

  static void Put(SlotType* ring, uint64_t n, const std::byte* message) {
    SlotType& slot = ring[n % kSlotsEachWay];
    std::memcpy(slot.message, message, kMessage);
    slot.sequence.store(n, std::memory_order_release);
  }
  // Spins on the stamp. A two-line slot's reader also asks for the second line on each
  // look, as RingConsumer::Ready() does, so that both lines can travel at once.
  static bool Take(SlotType* ring, uint64_t n, std::byte* message, pid_t peer) {
    SlotType& slot = ring[n % kSlotsEachWay];
    bool arrived = SpinWhilePeerLives(
        [&] {
          bool stamped = slot.sequence.load(std::memory_order_acquire) == n;
          if constexpr (SlotType::kTwoLines) {
            __builtin_prefetch(reinterpret_cast<const std::byte*>(&slot) + 64);
          }
          return stamped;
        },
        peer);
    std::memcpy(message, slot.message, kMessage);
    return arrived;
  }

  bool Exchange(uint64_t n, pid_t peer) {
    std::byte message[kMessage] = {};
    Put(to_peer, n, message);
    return Take(to_us, n, message, peer);
  }
  void Answer(pid_t parent) {
    std::byte message[kMessage];
    for (uint64_t n = 1; Take(to_peer, n, message, parent); ++n) Put(to_us, n, message);
  }
};

// ---- Bare ring ----

struct BareRecordHeader {
  uint32_t size;  // of the whole record
  uint32_t payload_size;
};
constexpr uint64_t kBarePayload = 64;
constexpr uint64_t kBareRecord = sizeof(BareRecordHeader) + kBarePayload;

constexpr uint64_t kRecordsPerLap = kBytesEachWay / kBareRecord;

struct BareRing {
  alignas(64) std::atomic<uint64_t> head;  // producer: end of the last record published
  alignas(64) std::atomic<uint64_t> tail;  // consumer: end of the last record released
  alignas(64) std::byte records[kBytesEachWay];

  // Records never wrap: those that do not fit before the end of the lap start the next
  // one, so record n (from 1) starts at a place both sides compute alike.
  static uint64_t Start(uint64_t n) {
    return (n - 1) / kRecordsPerLap * kBytesEachWay + (n - 1) % kRecordsPerLap * kBareRecord;
  }

  // The echo has one record in flight, so the producer never runs short of room and, like
  // RingProducer with room to spare, never loads `tail`.
  void Put(uint64_t n, const std::byte* payload) {
    std::byte* record = records + Start(n) % kBytesEachWay;
    BareRecordHeader header{kBareRecord, kBarePayload};
    std::memcpy(record, &header, sizeof(header));
    std::memcpy(record + sizeof(header), payload, kBarePayload);
    head.store(Start(n) + kBareRecord, std::memory_order_release);
  }
  bool Take(uint64_t n, std::byte* payload, pid_t peer) {
    uint64_t end = Start(n) + kBareRecord;
    bool arrived =
        SpinWhilePeerLives([&] { return head.load(std::memory_order_acquire) == end; }, peer);
    const std::byte* record = records + Start(n) % kBytesEachWay;
    BareRecordHeader header;
    std::memcpy(&header, record, sizeof(header));
    std::memcpy(payload, record + sizeof(header),
                std::min<uint64_t>(header.payload_size, kBarePayload));
    tail.store(end, std::memory_order_release);
    return arrived;
  }
};

struct BareRings {
  BareRing to_peer;
  BareRing to_us;

  bool Exchange(uint64_t n, pid_t peer) {
    std::byte payload[kBarePayload] = {};
    to_peer.Put(n, payload);
    return to_us.Take(n, payload, peer);
  }
  void Answer(pid_t parent) {
    std::byte payload[kBarePayload];
    for (uint64_t n = 1; to_peer.Take(n, payload, parent); ++n) to_us.Put(n, payload);
  }
};

}  // namespace

std::unique_ptr<RoundTripper> StartCacheLineEcho() {
  return std::make_unique<Echo<OneLine>>("pingpong-line");
}
std::unique_ptr<RoundTripper> StartLineExchangeEcho() {
  return std::make_unique<Echo<StampedSlots<Slot, 1>>>("pingpong-lines");
}
std::unique_ptr<RoundTripper> StartStampedSlotEcho() {
  return std::make_unique<Echo<StampedSlots<Slot, kBytesEachWay / sizeof(Slot)>>>("pingpong-slots");
}
std::unique_ptr<RoundTripper> StartTwoLineSlotEcho() {
  return std::make_unique<Echo<StampedSlots<TwoLineSlot, kBytesEachWay / sizeof(TwoLineSlot)>>>(
      "pingpong-two-lines");
}
std::unique_ptr<RoundTripper> StartBareRingEcho() {
  return std::make_unique<Echo<BareRings>>("pingpong-bare");
}

}  // namespace syslink::ring::bench
