#include "rpc/internal/call_codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "rpc/internal/metadata_codec.h"
#include "syslink/msg_format.h"

namespace syslink::rpc::internal {
namespace {

size_t RoundUpToPage(size_t n) { return (n + kDmaPageSize - 1) / kDmaPageSize * kDmaPageSize; }

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed call from the peer: ", why));
}

}  // namespace

void MessageSource::Write(uint8_t* out) const {
  if (message_ != nullptr) {
    message_->SerializeWithCachedSizesToArray(out);
  } else if (!bytes_.empty()) {
    std::memcpy(out, bytes_.data(), bytes_.size());
  }
}

size_t InlineLimit(const LinkOptions& options) {
  size_t ring_inline = MaxInlinePayload(options) - kCallHeaderSize;
  return std::min(ring_inline, static_cast<size_t>(options.ring_capacity / 4));
}

absl::Status PrepareOutgoing(Link& link, const MessageSource& message, Attachment* attachment,
                             AllocateDma allocate, const Metadata* metadata, OutgoingCall& call) {
  const LinkOptions& options = link.options();
  const size_t attached = attachment != nullptr ? attachment->size() : 0;
  call.message_size = message.size();
  call.header.magic = kCallMagic;
  call.header.version = kCallVersion;
  call.header.message_size = static_cast<uint32_t>(call.message_size);
  if (metadata != nullptr && !metadata->empty()) [[unlikely]] {
    call.metadata = metadata;
    call.metadata_size = MetadataBlockSize(*metadata);
    call.header.flags |= kCallMetadata;
    if (call.metadata_size > InlineLimit(options)) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "metadata of %d bytes does not fit this link's inline limit of %d bytes (a "
          "quarter of LinkOptions::ring_capacity)",
          call.metadata_size, InlineLimit(options)));
    }
  }
  call.spilled = call.message_size + call.metadata_size > InlineLimit(options);
  const uint64_t limit = options.max_dma_size;
  if (call.spilled) {
    size_t attachment_offset = RoundUpToPage(call.message_size);
    size_t total = attached == 0 ? call.message_size : attachment_offset + attached;
    if (total > limit) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "a message of %d bytes%s is too large to send: it does not fit inline (at most %d "
          "bytes) and exceeds the link's DMA limit of %d bytes (LinkOptions::max_dma_size)",
          call.message_size,
          attached == 0 ? "" : absl::StrFormat(" with a %d-byte attachment", attached),
          InlineLimit(options), limit));
    }
    absl::StatusOr<DmaBuffer> buffer = allocate(total);
    if (!buffer.ok()) return buffer.status();
    message.Write(reinterpret_cast<uint8_t*>(buffer->data().data()));
    call.header.flags |= kCallSpilled;
    if (attached > 0) {
      std::memcpy(buffer->data().data() + attachment_offset, attachment->data().data(), attached);
      call.header.flags |= kCallAttachment;
      call.header.attachment_offset = attachment_offset;
    }
    call.dma = *std::move(buffer);
    return absl::OkStatus();
  }
  if (attached == 0) return absl::OkStatus();
  call.header.flags |= kCallAttachment;
  if (attachment->is_dma() && link.Owns(attachment->dma())) {
    call.dma = attachment->TakeDmaBuffer();  // zero-copy: lent as it is
    call.lends_attachment = true;
    return absl::OkStatus();
  }
  if (attached > limit) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("an attachment of %d bytes exceeds the link's DMA limit of %d bytes "
                        "(LinkOptions::max_dma_size)",
                        attached, limit));
  }
  absl::StatusOr<DmaBuffer> buffer = allocate(attached);
  if (!buffer.ok()) return buffer.status();
  std::memcpy(buffer->data().data(), attachment->data().data(), attached);
  call.dma = *std::move(buffer);
  return absl::OkStatus();
}

void WriteInline(const OutgoingCall& call, const MessageSource& message, std::span<std::byte> out) {
  std::memcpy(out.data(), &call.header, kCallHeaderSize);
  size_t at = kCallHeaderSize;
  if (call.metadata != nullptr) [[unlikely]] {
    EncodeMetadata(*call.metadata, out.data() + at);
    at += call.metadata_size;
  }
  if (!call.spilled) message.Write(reinterpret_cast<uint8_t*>(out.data() + at));
}

absl::StatusOr<IncomingCall> ParseIncoming(std::span<const std::byte> inline_data,
                                           std::span<const std::byte> dma, Incoming kind) {
  IncomingCall call;
  if (inline_data.size() < kCallHeaderSize) {
    return Malformed(absl::StrFormat("%d bytes, shorter than the %d-byte call header",
                                     inline_data.size(), kCallHeaderSize));
  }
  std::memcpy(&call.header, inline_data.data(), kCallHeaderSize);
  const CallHeader& h = call.header;
  if (h.magic != kCallMagic || h.version != kCallVersion) {
    return Malformed(absl::StrFormat("bad call header (magic 0x%08x, version %d, flags 0x%x)",
                                     h.magic, h.version, h.flags));
  }
  if (((h.flags & ~(kCallSpilled | kCallAttachment)) | h.stream_id) != 0) [[unlikely]] {
    // A stream's: exactly one stream request flag and a stream id, or a reply's `end`; or
    // kCallGivenUp alone.
    const uint16_t stream_flags = h.flags & kCallStreamRequests;
    if ((h.flags & ~kCallKnownFlags) != 0 || (stream_flags & (stream_flags - 1)) != 0 ||
        (stream_flags != 0) != (h.stream_id != 0) ||
        (stream_flags != 0 && (h.flags & kCallStreamEnd) != 0) ||
        ((h.flags & kCallGivenUp) != 0 && (h.flags != kCallGivenUp || h.stream_id != 0))) {
      return Malformed(
          absl::StrFormat("bad call header flags 0x%x with stream id %d", h.flags, h.stream_id));
    }
    const uint16_t allowed = kind == Incoming::kRequest      ? kCallRequestFlags
                             : kind == Incoming::kUnaryReply ? kCallUnaryReplyFlags
                                                             : kCallStreamReplyFlags;
    if ((h.flags & ~allowed) != 0) {
      return Malformed(absl::StrFormat("call header flags 0x%x in a %s, which never carries 0x%x",
                                       h.flags,
                                       kind == Incoming::kRequest      ? "request"
                                       : kind == Incoming::kUnaryReply ? "unary call's reply"
                                                                       : "stream's reply",
                                       h.flags & ~allowed));
    }
  }
  std::span<const std::byte> rest = inline_data.subspan(kCallHeaderSize);
  if (h.flags & kCallMetadata) [[unlikely]] {
    absl::StatusOr<MetadataSplit> split = SplitMetadata(rest);
    if (!split.ok()) return split.status();
    call.metadata = split->entries;
    rest = split->rest;
  }
  if (h.flags & kCallSpilled) {
    if (!rest.empty() || h.message_size > dma.size()) {
      return Malformed(
          absl::StrFormat("a spilled message of %d bytes with a %d-byte buffer and %d inline bytes",
                          h.message_size, dma.size(), rest.size()));
    }
    call.message = dma.first(h.message_size);
    if (h.flags & kCallAttachment) {
      if (h.attachment_offset < h.message_size || h.attachment_offset > dma.size()) {
        return Malformed(absl::StrFormat("attachment offset %d outside [%d, %d]",
                                         h.attachment_offset, h.message_size, dma.size()));
      }
      call.has_attachment = true;
      call.attachment_offset = h.attachment_offset;
      call.attachment_size = dma.size() - h.attachment_offset;
    }
    return call;
  }
  if (h.message_size != rest.size()) {
    return Malformed(
        absl::StrFormat("message size %d but %d inline bytes", h.message_size, rest.size()));
  }
  call.message = rest;
  if (h.flags & kCallAttachment) {
    if (h.attachment_offset != 0) return Malformed("attachment offset without a spilled message");
    call.has_attachment = true;
    call.attachment_size = dma.size();
  }
  return call;
}

absl::Status EncodeErrorReply(const absl::Status& status, const Metadata& metadata) {
  const absl::string_view text = status.message();
  const bool looks_framed =
      text.size() >= sizeof(kCallMagic) && std::memcmp(text.data(), &kCallMagic, 4) == 0;
  if (metadata.empty() && !looks_framed) return status;
  CallHeader header{};
  header.magic = kCallMagic;
  header.version = kCallVersion;
  header.flags = kCallMetadata;
  header.message_size = static_cast<uint32_t>(text.size());
  std::string framed(kCallHeaderSize + MetadataBlockSize(metadata) + text.size(), '\0');
  std::memcpy(framed.data(), &header, kCallHeaderSize);
  EncodeMetadata(metadata, reinterpret_cast<std::byte*>(framed.data() + kCallHeaderSize));
  std::memcpy(framed.data() + framed.size() - text.size(), text.data(), text.size());
  return absl::Status(status.code(), framed);
}

absl::Status DecodeErrorReply(const absl::Status& received, Metadata* metadata) {
  const absl::string_view text = received.message();
  if (text.size() < sizeof(kCallMagic) || std::memcmp(text.data(), &kCallMagic, 4) != 0) {
    return received;
  }
  CallHeader h{};
  if (text.size() < kCallHeaderSize) return Malformed("an error text cut inside its header");
  std::memcpy(&h, text.data(), kCallHeaderSize);
  if (h.version != kCallVersion || h.flags != kCallMetadata || h.stream_id != 0 ||
      h.attachment_offset != 0 || h.deadline_unix_ns != 0) {
    return Malformed(
        absl::StrFormat("bad error header (version %d, flags 0x%x)", h.version, h.flags));
  }
  absl::StatusOr<MetadataSplit> split =
      SplitMetadata(std::as_bytes(std::span(text.data(), text.size())).subspan(kCallHeaderSize));
  if (!split.ok()) return split.status();
  if (split->rest.size() != h.message_size) {
    return Malformed(absl::StrFormat("an error text of %d bytes where the header says %d",
                                     split->rest.size(), h.message_size));
  }
  absl::StatusOr<Metadata> decoded = DecodeMetadata(split->entries);
  if (!decoded.ok()) return decoded.status();
  *metadata = *std::move(decoded);
  return absl::Status(
      received.code(),
      absl::string_view(reinterpret_cast<const char*>(split->rest.data()), split->rest.size()));
}

}  // namespace syslink::rpc::internal
