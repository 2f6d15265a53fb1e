// What the ring's single-process tests share: a ring in shared memory with its producer and
// consumer, heap memory to attach to, byte patterns, and checks of records and statuses.
//
//   absl::StatusOr<Ring> ring = MakeRing(256, WaitMode::kSpin);
//   ASSERT_TRUE(ring->producer.Write(AsBytes("hello"), Soon()).ok());
//   EXPECT_EQ(ReadString(ring->consumer), "hello");
//
// Errors: MakeRing() returns what failed; ExpectStatus() and ReadString() report through
// GoogleTest in the calling test.
//
// Thread safety: not thread-safe; a Ring is used as RingProducer and RingConsumer allow.

#ifndef SYSLINK_RING_RING_TESTING_H_
#define SYSLINK_RING_RING_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_format.h"
#include "ring/ring_producer.h"
#include "ring/shared_region.h"
#include "ring/wait_mode.h"

namespace syslink::ring {

inline constexpr WaitMode kAllModes[] = {WaitMode::kSpin, WaitMode::kHybrid, WaitMode::kBlocking};
inline constexpr WaitMode kSleepingModes[] = {WaitMode::kHybrid, WaitMode::kBlocking};

// Heap memory of exactly `size` bytes on a cache line, filled with junk.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size)
      : size_(size),
        data_(static_cast<std::byte*>(
            ::operator new (size == 0 ? 1 : size, std::align_val_t{kCacheLineSize}))) {
    std::memset(data_, 0xa5, size_);
  }
  ~AlignedBuffer() { ::operator delete (data_, std::align_val_t{kCacheLineSize}); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::span<std::byte> bytes() const { return {data_, size_}; }
  RingControl* control() const { return std::launder(reinterpret_cast<RingControl*>(data_)); }

 private:
  size_t size_;
  std::byte* data_;
};

// A ring in a SharedRegion with its producer and consumer.
struct Ring {
  SharedRegion region;
  RingProducer producer;
  RingConsumer consumer;

  RingControl* control() const {
    return std::launder(reinterpret_cast<RingControl*>(region.data()));
  }
  std::byte* records() const { return region.data() + kRecordSpaceOffset; }
};

inline absl::StatusOr<Ring> MakeRing(size_t capacity, WaitMode mode = WaitMode::kHybrid) {
  absl::StatusOr<SharedRegion> region = SharedRegion::Create("ring_test", RingFootprint(capacity));
  if (!region.ok()) return region.status();
  if (absl::Status status = InitializeRing(region->bytes(), mode); !status.ok()) return status;
  WaitOptions options{.mode = mode};
  absl::StatusOr<RingProducer> producer = RingProducer::Attach(region->bytes(), options);
  if (!producer.ok()) return producer.status();
  absl::StatusOr<RingConsumer> consumer = RingConsumer::Attach(region->bytes(), options);
  if (!consumer.ok()) return consumer.status();
  return Ring{*std::move(region), *std::move(producer), *std::move(consumer)};
}

inline std::span<const std::byte> AsBytes(absl::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

inline std::string AsString(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

inline std::byte PatternByte(uint32_t sequence, size_t i) {
  return static_cast<std::byte>((sequence * 131 + i * 7 + (i >> 8)) & 0xff);
}

inline void FillPattern(std::byte* out, size_t size, uint32_t sequence) {
  for (size_t i = 0; i < size; ++i) out[i] = PatternByte(sequence, i);
}

inline std::vector<std::byte> Pattern(size_t size, uint32_t sequence) {
  std::vector<std::byte> bytes(size);
  FillPattern(bytes.data(), size, sequence);
  return bytes;
}

// Index of the first byte that differs from the pattern, or -1.
inline long FirstPatternMismatch(std::span<const std::byte> payload, uint32_t sequence) {
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] != PatternByte(sequence, i)) return static_cast<long>(i);
  }
  return -1;
}

inline void ExpectStatus(const absl::Status& status, absl::StatusCode code,
                         const std::string& substring) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(substring));
}

// The payload of the next record, or a test failure.
inline std::string ReadString(RingConsumer& consumer) {
  absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
  EXPECT_TRUE(record.ok()) << record.status();
  if (!record.ok()) return "<error>";
  EXPECT_TRUE(record->has_value()) << "no record published";
  if (!record->has_value()) return "<none>";
  return AsString((*record)->payload);
}

inline bool NothingToRead(RingConsumer& consumer) {
  absl::StatusOr<std::optional<Record>> record = consumer.TryRead();
  return record.ok() && !record->has_value();
}

}  // namespace syslink::ring

#endif  // SYSLINK_RING_RING_TESTING_H_
