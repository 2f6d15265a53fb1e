// How a syslink call's message and attachment ride in one gRPC message (docs/grpc.md).
//
//   grpc::ByteBuffer wire = EncodeFrame(MessageSource::Of(request), attachment.data());
//   context.AddMetadata(kAttachmentSizeKey, AttachmentSizeValue(attachment.size()));
//   ...
//   absl::StatusOr<FrameLayout> layout = DecodeFrame(received, AttachmentSizeIn(metadata));
//   CopyFrameBytes(received, layout->attachment_offset, out);
//
// A gRPC message is the serialized protobuf message. A call without an attachment is
// exactly what grpc_cpp_plugin's code sends and expects. An attachment of N bytes follows
// the message as one more length-delimited field, number 536870911 (the largest a .proto
// can use; declare nothing there), and the metadata entry `syslink-attachment-size: N`
// (the caller's initial metadata for a request, the server's for a response) says it is
// there. Without the entry nothing is taken off the message. A protobuf parser that does
// not know the field keeps it as an unknown field, so a stock gRPC peer still reads the
// message; a syslink peer takes the attachment off before parsing.
//
// Streams: gRPC has no metadata per message, so each side of a stream announces once, in
// its initial metadata, `syslink-stream-attachments: 1`: each message it sends that
// carries an attachment ends with the attachment field, framed as above. The receiver
// finds the field by walking the message's top-level fields (DecodeStreamFrame). A stock
// peer announces nothing, and nothing is taken off its messages.
//
// Thread safety: functions of their arguments. Errors: INVALID_ARGUMENT when a frame does
// not end with the attachment field its metadata announces, or the announced size is not a
// number or exceeds the limit; for a stream's message, when its top-level fields do not
// parse or the attachment field is not the last of them.

#ifndef SYSLINK_RPC_GRPC_MESSAGE_FRAME_H_
#define SYSLINK_RPC_GRPC_MESSAGE_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/string_ref.h"
#include "rpc/method.h"

namespace syslink::rpc::grpc_internal {

// The metadata key announcing an attachment, and the field number that carries it.
inline constexpr char kAttachmentSizeKey[] = "syslink-attachment-size";
inline constexpr uint32_t kAttachmentFieldNumber = 536870911;
// The largest attachment a frame may announce.
inline constexpr size_t kMaxAttachmentSize = size_t{1} << 30;
// A stream's sender puts its attachments in its messages (the file comment); value "1".
inline constexpr char kStreamAttachmentsKey[] = "syslink-stream-attachments";
// The caller's initial metadata names a streaming rpc's kind (MethodKindName()), so that a
// relay that knows no .proto (syslink-gateway) can tell how to carry it. A caller that does
// not say is taken to call a unary rpc.
inline constexpr char kMethodKindKey[] = "syslink-method-kind";

// A message to put in a frame: a protobuf message or bytes already serialized.
struct FrameMessage {
  const google::protobuf::MessageLite* message = nullptr;
  std::span<const std::byte> bytes;

  static FrameMessage Of(const google::protobuf::MessageLite& m) { return {&m, {}}; }
  static FrameMessage Of(std::span<const std::byte> b) { return {nullptr, b}; }
};

// One gRPC message holding `message` and, when not empty, `attachment` (the file comment).
grpc::ByteBuffer EncodeFrame(const FrameMessage& message,
                             std::span<const std::byte> attachment = {});
// The same for a message already serialized, taking over `message` instead of copying it:
// its bytes become the frame's first slice, the attachment's field the second.
grpc::ByteBuffer EncodeFrame(std::string&& message, std::span<const std::byte> attachment = {});

// Where the parts of a received frame are.
struct FrameLayout {
  size_t message_size = 0;
  size_t attachment_offset = 0;
  size_t attachment_size = 0;
};

// Finds the parts of `frame`, whose metadata announced `attachment_size` bytes (nullopt: no
// announcement, the whole frame is the message).
[[nodiscard]] absl::StatusOr<FrameLayout> DecodeFrame(const grpc::ByteBuffer& frame,
                                                      std::optional<size_t> attachment_size);

// Finds the parts of a stream message whose sender announced kStreamAttachmentsKey: the
// attachment, when the last top-level field is the attachment field; none otherwise.
[[nodiscard]] absl::StatusOr<FrameLayout> DecodeStreamFrame(absl::string_view frame);

// "unary", "client-streaming", "server-streaming", "bidi-streaming"; and back (nullopt for
// any other value).
absl::string_view MethodKindName(MethodKind kind);
std::optional<MethodKind> ParseMethodKind(absl::string_view name);

// The announced attachment size in `metadata` (a gRPC metadata map); nullopt when there is
// no entry, INVALID_ARGUMENT when it is not a decimal number up to kMaxAttachmentSize.
template <typename Map>
absl::StatusOr<std::optional<size_t>> AttachmentSizeIn(const Map& metadata);
[[nodiscard]] absl::StatusOr<std::optional<size_t>> ParseAttachmentSize(
    std::optional<absl::string_view> value);

// Copies out.size() bytes of `frame` from `offset` into `out`. The range must be inside it.
void CopyFrameBytes(const grpc::ByteBuffer& frame, size_t offset, std::span<std::byte> out);

// The first `size` bytes of `frame` as one contiguous string.
std::string FrameMessageBytes(const grpc::ByteBuffer& frame, size_t size);

template <typename Map>
absl::StatusOr<std::optional<size_t>> AttachmentSizeIn(const Map& metadata) {
  auto it = metadata.find(kAttachmentSizeKey);
  if (it == metadata.end()) return ParseAttachmentSize(std::nullopt);
  return ParseAttachmentSize(absl::string_view(it->second.data(), it->second.size()));
}

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_MESSAGE_FRAME_H_
