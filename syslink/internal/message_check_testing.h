// What the tests of CheckMessageShape() share: arena limits that tell the sender's arena
// from the receiver's, headers of each kind to change one field of, and a matcher for the
// BAD_MESSAGE a rejection must be.
//
//   MessageHeader h = Request(kFlagDmaToTarget, 0, kPage);
//   h.status = 3;
//   EXPECT_THAT(Check(h), IsBadMessageNaming("status must be 0"));
//
// Where a rule picks an arena (the sender's or the receiver's), kSenderLarger and
// kReceiverLarger give the two different sizes so that a check against the wrong one shows.
//
// Thread safety: functions of values only.

#ifndef SYSLINK_SYSLINK_INTERNAL_MESSAGE_CHECK_TESTING_H_
#define SYSLINK_SYSLINK_INTERNAL_MESSAGE_CHECK_TESTING_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "syslink/internal/message_check.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"

namespace syslink::internal {

inline constexpr uint64_t kPage = kDmaPageSize;
inline constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// The sender's arena (1 MiB) is four times the receiver's (256 KiB).
inline constexpr MessageLimits kSenderLarger{
    .sender_arena_size = 1024 * 1024,
    .receiver_arena_size = 256 * 1024,
    .max_dma_size = kDefaultMaxDmaSize,
};
// The receiver's arena (1 MiB) is four times the sender's (256 KiB).
inline constexpr MessageLimits kReceiverLarger{
    .sender_arena_size = 256 * 1024,
    .receiver_arena_size = 1024 * 1024,
    .max_dma_size = kDefaultMaxDmaSize,
};

// A well-formed header of `kind`, id 77, with every other field zero.
inline MessageHeader Header(MessageKind kind, uint64_t id = 77) { return NewHeader(kind, id); }

// A header of `kind` for command 3 with `flags` and a DMA descriptor of `length` bytes at
// `offset`.
inline MessageHeader CallHeader(MessageKind kind, uint16_t flags, uint64_t offset,
                                uint64_t length) {
  MessageHeader h = NewHeader(kind, 77, /*command=*/3);
  h.flags = flags;
  h.dma_offset = offset;
  h.dma_length = length;
  return h;
}

inline MessageHeader Request(uint16_t flags = 0, uint64_t offset = 0, uint64_t length = 0) {
  return CallHeader(MessageKind::kRequest, flags, offset, length);
}

inline MessageHeader Reply(uint16_t flags = 0, uint64_t offset = 0, uint64_t length = 0) {
  return CallHeader(MessageKind::kReply, flags, offset, length);
}

// A release of `length` bytes at `offset`.
inline MessageHeader Release(uint64_t offset, uint64_t length) {
  MessageHeader h = Header(MessageKind::kRelease);
  h.dma_offset = offset;
  h.dma_length = length;
  return h;
}

// Checks `h` as the whole of a record that holds exactly its inline payload.
inline absl::Status Check(const MessageHeader& h, const MessageLimits& limits = kSenderLarger) {
  return CheckMessageShape(h, kMessageHeaderSize + h.inline_length, limits);
}

MATCHER_P(IsBadMessageNaming, text,
          "is BAD_MESSAGE (DATA_LOSS) naming \"" + std::string(text) + "\"") {
  if (arg.code() != absl::StatusCode::kDataLoss) {
    *result_listener << "code is " << absl::StatusCodeToString(arg.code());
    return false;
  }
  if (!IsBadMessage(arg)) {
    *result_listener << "IsBadMessage() is false";
    return false;
  }
  return ::testing::ExplainMatchResult(::testing::HasSubstr(text), std::string(arg.message()),
                                       result_listener);
}

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_MESSAGE_CHECK_TESTING_H_
