#include "rpc/grpc/message_frame.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/slice.h"
#include "grpcpp/support/slice.h"

namespace syslink::rpc::grpc_internal {
namespace {

constexpr uint64_t kAttachmentTag = (uint64_t{kAttachmentFieldNumber} << 3) | 2;

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

uint8_t* WriteVarint(uint64_t value, uint8_t* out) {
  while (value >= 0x80) {
    *out++ = static_cast<uint8_t>(value | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<uint8_t>(value);
  return out;
}

// Reads a varint of at most 10 bytes at `p`, advancing it; false when it runs past `end`.
bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    const uint8_t byte = *p++;
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The tag and length that precede an attachment of `size` bytes.
size_t AttachmentHeaderSize(size_t size) { return VarintSize(kAttachmentTag) + VarintSize(size); }

// Writes `attachment` as the frame's last field at `out` (AttachmentFieldSize() bytes).
void WriteAttachmentField(std::span<const std::byte> attachment, uint8_t* out) {
  out = WriteVarint(kAttachmentTag, out);
  out = WriteVarint(attachment.size(), out);
  std::memcpy(out, attachment.data(), attachment.size());
}

// The bytes an attachment's field takes: none for an empty attachment.
size_t AttachmentFieldSize(std::span<const std::byte> attachment) {
  return attachment.empty() ? 0 : AttachmentHeaderSize(attachment.size()) + attachment.size();
}

}  // namespace

grpc::ByteBuffer EncodeFrame(const FrameMessage& message, std::span<const std::byte> attachment) {
  const size_t message_size =
      message.message != nullptr ? message.message->ByteSizeLong() : message.bytes.size();
  const size_t total = message_size + AttachmentFieldSize(attachment);
  // One slice of our own, handed to gRPC with free() to release it.
  auto* data = static_cast<uint8_t*>(std::malloc(total == 0 ? 1 : total));
  uint8_t* out = data;
  if (message.message != nullptr) {
    out = message.message->SerializeWithCachedSizesToArray(out);
  } else if (message_size > 0) {
    std::memcpy(out, message.bytes.data(), message_size);
    out += message_size;
  }
  if (!attachment.empty()) WriteAttachmentField(attachment, out);
  grpc::Slice slice(data, total, std::free);
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer EncodeFrame(std::string&& message, std::span<const std::byte> attachment) {
  std::vector<grpc::Slice> slices;
  if (!message.empty()) {
    // gRPC frees the string with the slice; moving it kept its heap buffer where it was.
    auto* owned = new std::string(std::move(message));
    slices.emplace_back(grpc_slice_new_with_user_data(
                            owned->data(), owned->size(),
                            [](void* s) { delete static_cast<std::string*>(s); }, owned),
                        grpc::Slice::STEAL_REF);
  }
  if (!attachment.empty()) {
    const size_t size = AttachmentFieldSize(attachment);
    auto* data = static_cast<uint8_t*>(std::malloc(size));
    WriteAttachmentField(attachment, data);
    slices.emplace_back(data, size, std::free);
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

absl::StatusOr<FrameLayout> DecodeFrame(const grpc::ByteBuffer& frame,
                                        std::optional<size_t> attachment_size) {
  const size_t total = frame.Length();
  if (!attachment_size.has_value()) return FrameLayout{.message_size = total};
  const size_t size = *attachment_size;
  const size_t header = AttachmentHeaderSize(size);
  if (size > kMaxAttachmentSize || total < header + size) {
    return absl::InvalidArgumentError(absl::StrCat("a gRPC message of ", total,
                                                   " bytes cannot hold the attachment of ", size,
                                                   " bytes its metadata announces"));
  }
  uint8_t expected[20];
  WriteVarint(size, WriteVarint(kAttachmentTag, expected));
  uint8_t found[20];
  const size_t message_size = total - header - size;
  CopyFrameBytes(frame, message_size, std::as_writable_bytes(std::span(found, header)));
  if (std::memcmp(expected, found, header) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a gRPC message does not end with the attachment field (number ",
                     kAttachmentFieldNumber, ", ", size, " bytes) its metadata announces"));
  }
  return FrameLayout{.message_size = message_size,
                     .attachment_offset = message_size + header,
                     .attachment_size = size};
}

absl::StatusOr<std::optional<size_t>> ParseAttachmentSize(std::optional<absl::string_view> value) {
  if (!value.has_value()) return std::optional<size_t>();
  uint64_t size = 0;
  if (!absl::SimpleAtoi(*value, &size) || size > kMaxAttachmentSize ||
      value->find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("metadata ", kAttachmentSizeKey, ": \"",
                                                   value->substr(0, 32), "\" is not a size up to ",
                                                   kMaxAttachmentSize));
  }
  return std::optional<size_t>(size);
}

void CopyFrameBytes(const grpc::ByteBuffer& frame, size_t offset, std::span<std::byte> out) {
  if (out.empty()) return;
  grpc::Slice single;
  if (frame.TrySingleSlice(&single).ok()) {
    std::memcpy(out.data(), single.begin() + offset, out.size());
    return;
  }
  std::vector<grpc::Slice> slices;
  (void)frame.Dump(&slices);
  size_t done = 0;
  for (const grpc::Slice& slice : slices) {
    if (done == out.size()) break;
    if (offset >= slice.size()) {
      offset -= slice.size();
      continue;
    }
    const size_t n = std::min(slice.size() - offset, out.size() - done);
    std::memcpy(out.data() + done, slice.begin() + offset, n);
    done += n;
    offset = 0;
  }
}

absl::StatusOr<FrameLayout> DecodeStreamFrame(absl::string_view frame) {
  const auto* const begin = reinterpret_cast<const uint8_t*>(frame.data());
  const uint8_t* const end = begin + frame.size();
  const uint8_t* p = begin;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("a stream message of ", frame.size(),
                                                   " bytes: ", why, " at byte ", p - begin));
  };
  int groups = 0;  // open groups (proto2): fields inside them are not top-level
  while (p < end) {
    const uint8_t* const field = p;
    uint64_t tag = 0;
    if (!ReadVarint(p, end, tag) || (tag >> 3) == 0) return bad("no valid field tag");
    uint64_t length = 0;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(p, end, length)) return bad("a varint runs past the end");
        break;
      case 1:
      case 5: {
        const size_t size = (tag & 7) == 1 ? 8 : 4;
        if (static_cast<size_t>(end - p) < size) return bad("a fixed field runs past the end");
        p += size;
        break;
      }
      case 2:
        if (!ReadVarint(p, end, length) || length > static_cast<uint64_t>(end - p)) {
          return bad("a length-delimited field runs past the end");
        }
        if (groups == 0 && (tag >> 3) == kAttachmentFieldNumber) {
          if (p + length != end) return bad("the attachment field is not the last");
          return FrameLayout{.message_size = static_cast<size_t>(field - begin),
                             .attachment_offset = static_cast<size_t>(p - begin),
                             .attachment_size = static_cast<size_t>(length)};
        }
        p += length;
        break;
      case 3:
        ++groups;
        break;
      case 4:
        if (groups == 0) return bad("a group ends that did not start");
        --groups;
        break;
      default:
        return bad("an unknown wire type");
    }
  }
  if (groups != 0) return bad("a group does not end");
  return FrameLayout{.message_size = frame.size()};
}

absl::string_view MethodKindName(MethodKind kind) {
  switch (kind) {
    case MethodKind::kUnary:
      return "unary";
    case MethodKind::kClientStreaming:
      return "client-streaming";
    case MethodKind::kServerStreaming:
      return "server-streaming";
    case MethodKind::kBidiStreaming:
      return "bidi-streaming";
  }
  return "unary";
}

std::optional<MethodKind> ParseMethodKind(absl::string_view name) {
  for (MethodKind kind : {MethodKind::kUnary, MethodKind::kClientStreaming,
                          MethodKind::kServerStreaming, MethodKind::kBidiStreaming}) {
    if (name == MethodKindName(kind)) return kind;
  }
  return std::nullopt;
}

std::string FrameMessageBytes(const grpc::ByteBuffer& frame, size_t size) {
  std::string bytes(size, '\0');
  CopyFrameBytes(frame, 0, std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
  return bytes;
}

}  // namespace syslink::rpc::grpc_internal
