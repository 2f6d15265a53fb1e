// Putting an RPC message (and its attachment) on a link, and finding them in a received
// one. See call_format.h for the layout.
//
// Thread safety: functions of their arguments; the Link is used by the caller's thread.
// Errors: RESOURCE_EXHAUSTED for a message (with its attachment) larger than the link's
// DMA limit, naming the size and the limit; the link's errors when a buffer cannot be had;
// INVALID_ARGUMENT from ParseIncoming for a malformed call, naming the problem.

#ifndef SYSLINK_RPC_INTERNAL_CALL_CODEC_H_
#define SYSLINK_RPC_INTERNAL_CALL_CODEC_H_

#include <cstddef>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "rpc/attachment.h"
#include "rpc/internal/call_format.h"
#include "rpc/metadata.h"
#include "syslink/link.h"

namespace syslink::rpc::internal {

// The largest message sent inline on a link with `options`: a quarter of the ring, so that
// one big message cannot fill it. Larger messages spill into a DMA buffer.
size_t InlineLimit(const LinkOptions& options);

struct OutgoingCall {
  CallHeader header{};
  size_t message_size = 0;
  bool spilled = false;
  DmaBuffer dma;                       // the spill buffer and/or the attachment; invalid if none
  bool lends_attachment = false;       // `dma` is the caller's own attachment, lent zero-copy
  const Metadata* metadata = nullptr;  // sent after the header when not null
  size_t metadata_size = 0;            // its block's bytes

  size_t inline_size() const {
    return kCallHeaderSize + metadata_size + (spilled ? 0 : message_size);
  }
};

// A message to send: a protobuf message (serialized on demand, with cached sizes) or bytes
// already serialized.
class MessageSource {
 public:
  static MessageSource Of(const google::protobuf::MessageLite& message) {
    return MessageSource(&message, {}, message.ByteSizeLong());
  }
  static MessageSource Of(std::span<const std::byte> bytes) {
    return MessageSource(nullptr, bytes, bytes.size());
  }
  size_t size() const { return size_; }
  void Write(uint8_t* out) const;

 private:
  MessageSource(const google::protobuf::MessageLite* message, std::span<const std::byte> bytes,
                size_t size)
      : message_(message), bytes_(bytes), size_(size) {}
  const google::protobuf::MessageLite* message_;
  std::span<const std::byte> bytes_;
  size_t size_;
};

// Where PrepareOutgoing() takes the DMA buffers it copies into: a buffer of at least the
// given size from the link's arena, or the reason there is none (Link::AllocateBuffer).
using AllocateDma = absl::FunctionRef<absl::StatusOr<DmaBuffer>(size_t bytes)>;

// Plans in `call` (as default-constructed) how a message and `attachment` travel on `link`,
// with `metadata` (checked already; null or empty for none) inline after the header. Writes
// a spilled message into a buffer from `allocate`; an inline one is written by WriteInline
// straight into ring space. `metadata` must live until WriteInline. `attachment` (null for
// none) is copied into a buffer from `allocate`, or (a DMA buffer of this link's arena)
// moved into call.dma; on failure it is left as it was.
[[nodiscard]] absl::Status PrepareOutgoing(Link& link, const MessageSource& message,
                                           Attachment* attachment, AllocateDma allocate,
                                           const Metadata* metadata, OutgoingCall& call);

// Fills an inline payload of call.inline_size() bytes.
void WriteInline(const OutgoingCall& call, const MessageSource& message, std::span<std::byte> out);

struct IncomingCall {
  CallHeader header{};
  std::span<const std::byte> metadata;  // the block's entries (DecodeMetadata); often empty
  std::span<const std::byte> message;
  bool has_attachment = false;
  size_t attachment_offset = 0;  // in the DMA buffer
  size_t attachment_size = 0;
};

// What an incoming call header heads, which decides the flags it may carry
// (call_format.h).
enum class Incoming : uint8_t { kRequest, kUnaryReply, kStreamReply };

// Finds the message and attachment of a call whose inline payload is `inline_data` and
// whose DMA buffer (if any) is `dma`. Trusts nothing in them: a header with a flag that
// `kind` never carries is malformed.
[[nodiscard]] absl::StatusOr<IncomingCall> ParseIncoming(std::span<const std::byte> inline_data,
                                                         std::span<const std::byte> dma,
                                                         Incoming kind);

// The status an error reply carries for `status` with the server's trailing `metadata`
// (checked already): `status` itself when there is no metadata and its text cannot be
// mistaken for the other form (call_format.h).
absl::Status EncodeErrorReply(const absl::Status& status, const Metadata& metadata);

// The status and trailing metadata an error reply with `received` carries. INVALID_ARGUMENT
// (a malformed call) when its text has the metadata form but not its rules.
absl::Status DecodeErrorReply(const absl::Status& received, Metadata* metadata);

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CALL_CODEC_H_
