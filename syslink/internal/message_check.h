// CheckMessageShape(): the checks a message header must pass on its own, before the
// receiver looks at its state (which requests are outstanding, which buffers are lent).
//
//   MessageHeader header;
//   std::memcpy(&header, record.data(), sizeof(header));  // copy out of shared memory first
//   absl::Status s = CheckMessageShape(header, record.size(), limits);
//
// Checked: magic and version; a known kind; a request's id not 0; only known flags, and
// only those that kind may carry; a request's mirror slot in range and the one its id names
// (MirrorSlotOf), 0 in other kinds; the inline length matching the record; a request's
// status 0; a reply's status a canonical code; every DMA descriptor page-aligned, non-empty
// (except a filled-buffer reply, which may report 0 bytes), within the DMA size limit and
// inside the arena it names: a request's and a reply buffer's in the sender's arena, a
// filled lent buffer's and a release's in the receiver's own.
//
// Thread safety: a pure function. Errors: BAD_MESSAGE (DATA_LOSS, see syslink/status.h)
// naming the field and its value.

#ifndef SYSLINK_SYSLINK_INTERNAL_MESSAGE_CHECK_H_
#define SYSLINK_SYSLINK_INTERNAL_MESSAGE_CHECK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"

namespace syslink::internal {

// The largest canonical status code a reply may carry (absl::StatusCode::kUnauthenticated).
inline constexpr int kLargestStatusCode = 16;

struct MessageLimits {
  uint64_t sender_arena_size;    // bytes in the arena of the end that sent the message
  uint64_t receiver_arena_size;  // bytes in the arena of the end checking it
  uint64_t max_dma_size;         // largest buffer one message may carry
};

// `record_size` is the size of the ring record that held the header and inline payload.
[[nodiscard]] absl::Status CheckMessageShape(const MessageHeader& header, uint64_t record_size,
                                             const MessageLimits& limits);

// The receiver's fast path: true only for a message CheckMessageShape() accepts that
// carries no DMA buffer and no flag (the common request and reply), decided in a few
// comparisons. When it is false, CheckMessageShape() decides.
inline bool IsPlainMessage(const MessageHeader& h, uint64_t record_size) {
  if (record_size < kMessageHeaderSize || h.inline_length != record_size - kMessageHeaderSize ||
      h.magic != kMessageMagic || h.version != kMessageVersion || h.flags != 0 ||
      (h.dma_offset | h.dma_length) != 0) {
    return false;
  }
  if (h.kind == static_cast<uint8_t>(MessageKind::kRequest)) {
    return h.message_id != 0 && h.status == 0 && h.mirror_slot == MirrorSlotOf(h.message_id);
  }
  return h.kind == static_cast<uint8_t>(MessageKind::kReply) && h.mirror_slot == 0 &&
         static_cast<uint32_t>(h.status) <= kLargestStatusCode;
}

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_MESSAGE_CHECK_H_
