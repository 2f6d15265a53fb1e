// The syslink message header: the fixed 48 bytes that begin every message on a link.
//
// This header is the one description both ends use; docs/wire-format.md specifies the same
// thing in prose. A message is one ring record: a MessageHeader followed by
// `inline_length` bytes of inline payload. A DMA buffer travels out of band: the header
// names it by offset and length in a DMA arena of the link's shared region.
//
// All fields are little-endian (both ends share one machine). Receivers copy the header
// out of shared memory before checking it (see syslink/internal/message_check.h).

#ifndef SYSLINK_SYSLINK_MSG_FORMAT_H_
#define SYSLINK_SYSLINK_MSG_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "syslink/mirror_format.h"

namespace syslink {

inline constexpr uint32_t kMessageMagic = 0x4b4c5953;  // "SYLK" in memory order
// 3: a request's mirror slot is its id's low 12 bits (2 let the requester choose both).
inline constexpr uint8_t kMessageVersion = 3;

enum class MessageKind : uint8_t {
  kRequest = 1,  // needs exactly one reply
  kReply = 2,    // answers the request with the same message_id
  kRelease = 3,  // hands a buffer that came with a reply back to its owner; never replied to
};

// Flags (MessageHeader::flags).
inline constexpr uint16_t kFlagDmaToTarget = 1 << 0;     // request lends a buffer the target reads
inline constexpr uint16_t kFlagDmaFromTarget = 1 << 1;   // request lends a buffer the target fills;
                                                         // on a reply: the lent buffer, filled
inline constexpr uint16_t kFlagDmaReplyBuffer = 1 << 2;  // reply carries a buffer of the replier's
inline constexpr uint16_t kFlagSynthetic = 1 << 3;  // reply written for a peer that died (broker)
inline constexpr uint16_t kKnownFlags =
    kFlagDmaToTarget | kFlagDmaFromTarget | kFlagDmaReplyBuffer | kFlagSynthetic;

// DMA buffers are page-aligned, in whole pages.
inline constexpr uint64_t kDmaPageSize = 4096;
// The default largest DMA buffer one message may carry (like syslink(2)).
inline constexpr uint64_t kDefaultMaxDmaSize = 128 * 1024;

struct MessageHeader {
  uint32_t magic;          // kMessageMagic
  uint8_t version;         // kMessageVersion
  uint8_t kind;            // a MessageKind
  uint16_t flags;          // kFlag* bits
  uint64_t message_id;     // chosen by the requester, unique among its outstanding requests;
                           // a request's names its mirror slot in its low 12 bits
  uint32_t command;        // the operation (method id) a request asks for; echoed in the reply
  int32_t status;          // replies: an absl::StatusCode; 0 otherwise
  uint32_t inline_length;  // bytes of inline payload after this header
  uint32_t mirror_slot;    // requests: the requester's mirror slot for it (mirror_format.h),
                           // message_id % kMirrorSlots; 0 otherwise
  uint64_t dma_offset;     // offset of the buffer in the owner's arena; page-aligned
  uint64_t dma_length;     // bytes of the buffer in use; 0 when there is no buffer
};

static_assert(sizeof(MessageHeader) == 48);
static_assert(offsetof(MessageHeader, message_id) == 8);
static_assert(offsetof(MessageHeader, command) == 16);
static_assert(offsetof(MessageHeader, status) == 20);
static_assert(offsetof(MessageHeader, inline_length) == 24);
static_assert(offsetof(MessageHeader, mirror_slot) == 28);
static_assert(offsetof(MessageHeader, dma_offset) == 32);
static_assert(offsetof(MessageHeader, dma_length) == 40);
static_assert(alignof(MessageHeader) == 8);

inline constexpr size_t kMessageHeaderSize = sizeof(MessageHeader);

// The mirror slot a request with id `message_id` names.
constexpr uint32_t MirrorSlotOf(uint64_t message_id) {
  return static_cast<uint32_t>(message_id % kMirrorSlots);
}

// A header of `kind` with magic and version set, every other field zero but the two given
// and, for a request, the mirror slot its id names.
constexpr MessageHeader NewHeader(MessageKind kind, uint64_t message_id = 0, uint32_t command = 0) {
  MessageHeader header{};
  header.magic = kMessageMagic;
  header.version = kMessageVersion;
  header.kind = static_cast<uint8_t>(kind);
  header.message_id = message_id;
  header.command = command;
  if (kind == MessageKind::kRequest) header.mirror_slot = MirrorSlotOf(message_id);
  return header;
}

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_MSG_FORMAT_H_
