#include "syslink/internal/message_check.h"

#include "absl/strings/str_format.h"
#include "syslink/mirror_format.h"
#include "syslink/status.h"

namespace syslink::internal {
namespace {

const char* KindName(uint8_t kind) {
  switch (static_cast<MessageKind>(kind)) {
    case MessageKind::kRequest:
      return "request";
    case MessageKind::kReply:
      return "reply";
    case MessageKind::kRelease:
      return "release";
  }
  return "unknown";
}

// A buffer descriptor inside an arena of `arena_size` bytes.
absl::Status CheckBuffer(const MessageHeader& h, uint64_t arena_size, uint64_t max_dma_size,
                         bool may_be_empty, const char* whose) {
  if (h.dma_offset % kDmaPageSize != 0) {
    return BadMessageError(absl::StrFormat("%s %d: DMA offset %d is not page-aligned",
                                           KindName(h.kind), h.message_id, h.dma_offset));
  }
  if (h.dma_length == 0 && !may_be_empty) {
    return BadMessageError(
        absl::StrFormat("%s %d: DMA flag set but DMA length is 0", KindName(h.kind), h.message_id));
  }
  if (h.dma_length > max_dma_size) {
    return BadMessageError(
        absl::StrFormat("%s %d: DMA length %d exceeds the link's limit of %d bytes",
                        KindName(h.kind), h.message_id, h.dma_length, max_dma_size));
  }
  if (h.dma_offset > arena_size || h.dma_length > arena_size - h.dma_offset) {
    return BadMessageError(absl::StrFormat(
        "%s %d: DMA range [%d, +%d) lies outside %s arena of %d bytes", KindName(h.kind),
        h.message_id, h.dma_offset, h.dma_length, whose, arena_size));
  }
  return absl::OkStatus();
}

absl::Status CheckNoBuffer(const MessageHeader& h) {
  if (h.dma_offset != 0 || h.dma_length != 0) {
    return BadMessageError(absl::StrFormat("%s %d: DMA descriptor [%d, +%d) without a DMA flag",
                                           KindName(h.kind), h.message_id, h.dma_offset,
                                           h.dma_length));
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const MessageHeader& h, const MessageLimits& limits) {
  if ((h.flags & ~(kFlagDmaToTarget | kFlagDmaFromTarget)) != 0) {
    return BadMessageError(absl::StrFormat("request %d: flags 0x%x are not allowed on a request",
                                           h.message_id, h.flags));
  }
  if ((h.flags & kFlagDmaToTarget) && (h.flags & kFlagDmaFromTarget)) {
    return BadMessageError(absl::StrFormat(
        "request %d: a buffer cannot be lent both to and from the target", h.message_id));
  }
  if (h.status != 0) {
    return BadMessageError(
        absl::StrFormat("request %d: status must be 0, is %d", h.message_id, h.status));
  }
  if (h.flags == 0) return CheckNoBuffer(h);
  return CheckBuffer(h, limits.sender_arena_size, limits.max_dma_size, false, "the sender's");
}

absl::Status CheckReply(const MessageHeader& h, const MessageLimits& limits) {
  if ((h.flags & ~(kFlagDmaFromTarget | kFlagDmaReplyBuffer | kFlagSynthetic)) != 0) {
    return BadMessageError(
        absl::StrFormat("reply %d: flags 0x%x are not allowed on a reply", h.message_id, h.flags));
  }
  if ((h.flags & kFlagDmaFromTarget) && (h.flags & kFlagDmaReplyBuffer)) {
    return BadMessageError(absl::StrFormat(
        "reply %d: returns a filled buffer and carries its own; one buffer per message",
        h.message_id));
  }
  if (h.status < 0 || h.status > kLargestStatusCode) {
    return BadMessageError(absl::StrFormat("reply %d: status %d is not a canonical status code",
                                           h.message_id, h.status));
  }
  if (h.flags & kFlagDmaFromTarget) {
    return CheckBuffer(h, limits.receiver_arena_size, limits.max_dma_size, true, "our");
  }
  if (h.flags & kFlagDmaReplyBuffer) {
    return CheckBuffer(h, limits.sender_arena_size, limits.max_dma_size, false, "the sender's");
  }
  return CheckNoBuffer(h);
}

absl::Status CheckRelease(const MessageHeader& h, const MessageLimits& limits) {
  if (h.flags != 0 || h.status != 0 || h.command != 0 || h.inline_length != 0) {
    return BadMessageError(absl::StrFormat(
        "release %d: flags, status, command and inline length must be 0", h.message_id));
  }
  return CheckBuffer(h, limits.receiver_arena_size, limits.max_dma_size, false, "our");
}

}  // namespace

absl::Status CheckMessageShape(const MessageHeader& h, uint64_t record_size,
                               const MessageLimits& limits) {
  if (record_size < kMessageHeaderSize) {
    return BadMessageError(absl::StrFormat("message of %d bytes is shorter than the %d-byte header",
                                           record_size, kMessageHeaderSize));
  }
  if (h.magic != kMessageMagic) {
    return BadMessageError(
        absl::StrFormat("bad magic 0x%08x (expected 0x%08x)", h.magic, kMessageMagic));
  }
  if (h.version != kMessageVersion) {
    return BadMessageError(
        absl::StrFormat("message version %d is not supported (this end "
                        "speaks version %d)",
                        h.version, kMessageVersion));
  }
  const bool request = h.kind == static_cast<uint8_t>(MessageKind::kRequest);
  if (request && h.message_id == 0) {
    return BadMessageError("request 0: a request's id must not be 0");
  }
  if (request && h.mirror_slot >= kMirrorSlots) {
    return BadMessageError(
        absl::StrFormat("request %d: mirror slot %d is past the mirror's %d slots", h.message_id,
                        h.mirror_slot, kMirrorSlots));
  }
  if (request && h.mirror_slot != MirrorSlotOf(h.message_id)) {
    return BadMessageError(absl::StrFormat(
        "request %d: mirror slot %d is not the one its id names (%d, the id modulo %d)",
        h.message_id, h.mirror_slot, MirrorSlotOf(h.message_id), kMirrorSlots));
  }
  if (!request && h.mirror_slot != 0) {
    return BadMessageError(
        absl::StrFormat("%s %d: mirror slot %d must be 0 (only a request names one)",
                        KindName(h.kind), h.message_id, h.mirror_slot));
  }
  if (h.inline_length != record_size - kMessageHeaderSize) {
    return BadMessageError(absl::StrFormat(
        "%s %d: inline length %d does not match the %d bytes after the header", KindName(h.kind),
        h.message_id, h.inline_length, record_size - kMessageHeaderSize));
  }
  switch (static_cast<MessageKind>(h.kind)) {
    case MessageKind::kRequest:
      return CheckRequest(h, limits);
    case MessageKind::kReply:
      return CheckReply(h, limits);
    case MessageKind::kRelease:
      return CheckRelease(h, limits);
  }
  return BadMessageError(absl::StrFormat("message %d has unknown kind %d", h.message_id, h.kind));
}

}  // namespace syslink::internal
