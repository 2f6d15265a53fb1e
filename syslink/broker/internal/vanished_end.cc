#include "syslink/broker/internal/vanished_end.h"

#include <fcntl.h>

#include <cstring>
#include <span>

#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "syslink/internal/cycle_clock.h"
#include "syslink/internal/link_layout.h"
#include "syslink/internal/outstanding.h"
#include "syslink/mirror_format.h"

namespace syslink::broker::internal {
namespace {

using ::syslink::internal::CompleteUnreplied;
using ::syslink::internal::CycleCount;
using ::syslink::internal::LinkLayout;
using ::syslink::internal::Unreplied;

absl::StatusOr<ring::SharedRegion> MapRegion(int region_fd, const LinkLayout& layout) {
  UniqueFd copy(fcntl(region_fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return ErrnoStatus("dup of a link region");
  return ring::SharedRegion::Map(std::move(copy), layout.total_size, /*populate_bytes=*/0);
}

// A mirror slot, copied out of shared memory.
struct MirroredRequest {
  uint64_t id;
  uint32_t command;
  uint64_t sent_cycles;
  uint64_t dma_bytes;
};

// The slots of `side`'s outstanding-request mirror in the mapped region.
std::span<MirrorSlot> MirrorOf(const ring::SharedRegion& region, const LinkLayout& layout,
                               int side) {
  return {reinterpret_cast<MirrorSlot*>(region.data() + layout.MirrorOffset(side)), kMirrorSlots};
}

// The non-empty slots of an end's mirror, each copied once (the end may still change it).
std::vector<MirroredRequest> CopyMirror(const ring::SharedRegion& region, const LinkLayout& layout,
                                        int side) {
  std::vector<MirroredRequest> found;
  for (MirrorSlot& slot : MirrorOf(region, layout, side)) {
    uint64_t id = slot.id.load(std::memory_order_acquire);
    if (id == 0) continue;
    MirroredRequest& copy = found.emplace_back();
    copy.id = id;
    std::memcpy(&copy.command, &slot.command, sizeof(copy.command));
    std::memcpy(&copy.sent_cycles, &slot.sent_cycles, sizeof(copy.sent_cycles));
    std::memcpy(&copy.dma_bytes, &slot.dma_bytes, sizeof(copy.dma_bytes));
  }
  return found;
}

// Marks every request in `side`'s mirror given up. Only the end writes its mirror, and that
// end is gone. Marking a request the survivor has already answered does no harm: no watch
// is left to read it.
void MarkMirrorGivenUp(const ring::SharedRegion& region, const LinkLayout& layout, int side) {
  for (MirrorSlot& slot : MirrorOf(region, layout, side)) {
    if (slot.id.load(std::memory_order_acquire) == 0) continue;
    slot.state.fetch_or(kMirrorGivenUp, std::memory_order_release);
  }
}

// The time-stamp counter's rate, measured once against the monotonic clock (10 ms).
double CyclesPerNanosecond() {
  static const double rate = [] {
    absl::Time t0 = absl::Now();
    uint64_t c0 = CycleCount();
    absl::SleepFor(absl::Milliseconds(10));
    uint64_t c1 = CycleCount();
    double ns = absl::ToDoubleNanoseconds(absl::Now() - t0);
    return ns > 0 && c1 > c0 ? (c1 - c0) / ns : 1.0;
  }();
  return rate;
}

}  // namespace

absl::StatusOr<int> AnswerForVanishedEnd(int region_fd, const LinkOptions& options,
                                         int vanished_side) {
  LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region = MapRegion(region_fd, layout);
  if (!region.ok()) return region.status();
  MarkMirrorGivenUp(*region, layout, vanished_side);
  std::vector<Unreplied> unreplied;
  for (const MirroredRequest& request : CopyMirror(*region, layout, 1 - vanished_side)) {
    unreplied.push_back({request.id, request.command});
  }
  if (unreplied.empty()) return 0;
  absl::StatusOr<ring::RingProducer> producer = ring::RingProducer::Attach(
      {region->data() + layout.RingOffset(vanished_side), layout.ring_bytes}, options.wait);
  if (!producer.ok()) return producer.status();
  int written = 0;
  for (const MessageHeader& reply : CompleteUnreplied(unreplied, absl::StatusCode::kUnavailable)) {
    absl::StatusOr<std::byte*> space = producer->TryReserve(sizeof(reply));
    if (!space.ok() || *space == nullptr) break;  // the survivor's own detection covers the rest
    std::memcpy(*space, &reply, sizeof(reply));
    producer->Commit(sizeof(reply));
    ++written;
  }
  producer->Publish();  // a sleeping survivor also wakes on its socket's hang-up
  return written;
}

absl::StatusOr<std::vector<PendingRequestListing>> ReadPendingRequests(int region_fd,
                                                                       const LinkOptions& options,
                                                                       int side) {
  LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region = MapRegion(region_fd, layout);
  if (!region.ok()) return region.status();
  std::vector<PendingRequestListing> pending;
  uint64_t now = CycleCount();
  double per_ns = CyclesPerNanosecond();
  for (const MirroredRequest& request : CopyMirror(*region, layout, side)) {
    int64_t age_ns = now > request.sent_cycles ? (now - request.sent_cycles) / per_ns : 0;
    pending.push_back({request.id, request.command, age_ns, request.dma_bytes});
  }
  return pending;
}

}  // namespace syslink::broker::internal
