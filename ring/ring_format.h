// The layout of a single-producer/single-consumer ring in shared memory.
//
// This header is the one description of the bytes both processes see; docs/ring.md
// specifies the same layout and protocol in prose. Nothing in it is a pointer: a ring is a
// control block followed by `capacity` bytes of record space, and every position is an
// offset computed locally from a 64-bit index.
//
//   offset 0    RingControl (5 cache lines)
//   offset 320  record space, `capacity` bytes, capacity a power of two
//
// Indexes count bytes since the ring was created and never wrap in practice (2^64 bytes);
// a position in the record space is `index & (capacity - 1)`.
//
// A record is an 8-byte RecordHeader followed by its payload, padded to a multiple of 8.
// The header is one 64-bit word holding the payload size and a stamp: a record at index i
// is published when its header's stamp is RecordStamp(i), so the consumer finds new records
// by reading the next header, in the same cache line as the payload's first 56 bytes,
// without reading the producer's index. A record never straddles the end of the record
// space: when the next record does not fit before the end, the producer fills the rest with
// one padding record and starts again at position 0.

#ifndef SYSLINK_RING_RING_FORMAT_H_
#define SYSLINK_RING_RING_FORMAT_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace syslink::ring {

inline constexpr size_t kCacheLineSize = 64;

inline constexpr uint32_t kRingMagic = 0x53524e47;  // "SRNG"
inline constexpr uint32_t kRingVersion = 2;

// Records are 8-byte aligned; a header is one 8-byte word.
inline constexpr size_t kRecordAlignment = 8;
inline constexpr size_t kRecordHeaderSize = 8;

// Smallest and largest record space a ring may have.
inline constexpr size_t kMinRingCapacity = 64;
inline constexpr size_t kMaxRingCapacity = size_t{1} << 30;

// `RecordHeader::payload_size` of a padding record, which fills the record space from its
// index up to the end and carries no payload.
inline constexpr uint32_t kPaddingPayloadSize = 0xffffffffu;

// Values of the futex words `consumer_waiting` and `producer_waiting`.
inline constexpr uint32_t kNotWaiting = 0;
inline constexpr uint32_t kWaitingOnFutex = 1;    // wake with FUTEX_WAKE on the word
inline constexpr uint32_t kWaitingElsewhere = 2;  // the owner of the ring wakes it its own way

// Values of `consumer_sleep_barrier` and `producer_sleep_barrier`: how that side orders its
// announcement of sleep before its last look (internal/heavy_barrier.h).
inline constexpr uint32_t kSleepBarrierFence = 0;  // a fence: its waker must fence too
inline constexpr uint32_t kSleepBarrierHeavy = 1;  // membarrier(2): its waker need not

// A record header, read and written as one 64-bit word (payload_size in the low half).
struct RecordHeader {
  // Payload bytes; the record occupies RecordSize(payload_size). kPaddingPayloadSize for
  // padding, which occupies the rest of the record space.
  uint32_t payload_size;
  // RecordStamp(index of this record) once the record is published; anything else means
  // the record at this index is not published yet.
  uint32_t stamp;
};
static_assert(sizeof(RecordHeader) == kRecordHeaderSize);

// The space a record with `payload_size` bytes of payload occupies.
constexpr uint64_t RecordSize(uint64_t payload_size) {
  return (kRecordHeaderSize + payload_size + kRecordAlignment - 1) & ~(kRecordAlignment - 1);
}

// The stamp of a published record at `index`. Never 0 for the first laps, so the zeroed
// record space of a new ring holds no published record.
constexpr uint32_t RecordStamp(uint64_t index) {
  return ~static_cast<uint32_t>(index / kRecordAlignment);
}

// The header word of a record at `index`, published or not.
constexpr uint64_t HeaderWord(uint32_t payload_size, uint64_t index, bool published) {
  uint32_t stamp = published ? RecordStamp(index) : ~RecordStamp(index);
  return payload_size | uint64_t{stamp} << 32;
}
static_assert(std::endian::native == std::endian::little,
              "a header word keeps payload_size in its first four bytes");
constexpr uint32_t PayloadSizeOf(uint64_t header_word) {
  return static_cast<uint32_t>(header_word);
}
constexpr bool IsPublishedAt(uint64_t header_word, uint64_t index) {
  return static_cast<uint32_t>(header_word >> 32) == RecordStamp(index);
}

// The bytes a published record at `index` occupies, by its header word: RecordSize of its
// payload, or for padding the rest of a record space of `capacity` bytes.
constexpr uint64_t RecordBytes(uint64_t header_word, uint64_t index, uint64_t capacity) {
  return PayloadSizeOf(header_word) == kPaddingPayloadSize ? capacity - (index & (capacity - 1))
                                                           : RecordSize(PayloadSizeOf(header_word));
}

// The control block at the start of a ring. Each mutable field sits on its own cache line
// so that the producer's and the consumer's writes never contend for a line.
struct RingControl {
  // Line 0: written once by the creator before the ring is shared, read-only afterwards.
  uint32_t magic;
  uint32_t version;
  uint64_t capacity;   // bytes of record space; a power of two
  uint32_t wait_mode;  // a WaitMode value; both sides must agree on it
  uint32_t reserved0;

  // Line 1: written only by the producer. Bytes published, at the latest: every record in
  // [tail, head) is complete and readable, and records after head may be too (their
  // stamps tell). The consumer never reads it; a producer that takes over starts from it.
  alignas(kCacheLineSize) std::atomic<uint64_t> head;

  // Line 2: written only by the consumer. Bytes released: the producer may overwrite
  // everything before tail.
  alignas(kCacheLineSize) std::atomic<uint64_t> tail;

  // Line 3: set by a consumer about to sleep for want of records, cleared by whoever wakes
  // it. A futex word.
  alignas(kCacheLineSize) std::atomic<uint32_t> consumer_waiting;
  // Written by the consumer when it attaches, read by the producer on each wake-up check
  // (the same line as the word it checks): a kSleepBarrier value. Rings of version 2 that
  // predate it hold 0 here, kSleepBarrierFence.
  std::atomic<uint32_t> consumer_sleep_barrier;

  // Line 4: set by a producer about to sleep for want of space, cleared by whoever wakes
  // it. A futex word.
  alignas(kCacheLineSize) std::atomic<uint32_t> producer_waiting;
  // Written by the producer when it attaches, read by the consumer: as above.
  std::atomic<uint32_t> producer_sleep_barrier;
};

static_assert(sizeof(RingControl) == 5 * kCacheLineSize);
static_assert(offsetof(RingControl, head) == 1 * kCacheLineSize);
static_assert(offsetof(RingControl, tail) == 2 * kCacheLineSize);
static_assert(offsetof(RingControl, consumer_waiting) == 3 * kCacheLineSize);
static_assert(offsetof(RingControl, producer_waiting) == 4 * kCacheLineSize);
static_assert(offsetof(RingControl, consumer_sleep_barrier) == 3 * kCacheLineSize + 4);
static_assert(offsetof(RingControl, producer_sleep_barrier) == 4 * kCacheLineSize + 4);
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "ring indexes must be lock-free to be shared between processes");
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "a futex word must be exactly 32 bits");

// The header word at `index` in the record space that starts at `records`, for one atomic
// load or store. Header indexes are multiples of 8, so the word is aligned.
inline std::atomic_ref<uint64_t> HeaderAt(const std::byte* records, uint64_t mask, uint64_t index) {
  auto* word = reinterpret_cast<uint64_t*>(const_cast<std::byte*>(records) + (index & mask));
  return std::atomic_ref<uint64_t>(*word);
}

// Offset of the record space from the start of the ring.
inline constexpr size_t kRecordSpaceOffset = sizeof(RingControl);

// Bytes a ring with `capacity` bytes of record space occupies in shared memory.
constexpr size_t RingFootprint(size_t capacity) { return kRecordSpaceOffset + capacity; }

}  // namespace syslink::ring

#endif  // SYSLINK_RING_RING_FORMAT_H_
