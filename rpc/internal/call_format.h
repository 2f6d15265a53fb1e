// How an RPC call rides on a link message. docs/rpc.md specifies it in prose.
//
// Request: a link request whose command is the method id (rpc/method_id.h). Its inline
// payload starts with a CallHeader; the serialized request follows inline, or, when it is
// too big for the ring ("spilled"), sits at offset 0 of the DMA buffer lent with the
// request. An attachment travels as that DMA buffer (lent to the target), or after a
// spilled message in the same buffer, at attachment_offset.
//
// Response: a link reply. An error status travels as the link reply's status, with the
// message as its text (no CallHeader). An OK reply starts with a CallHeader; the serialized
// response follows inline or is spilled into a buffer the reply carries, with the response
// attachment beside it the same way.
//
// Streams (docs/wire-format.md, "Streams"): every stream message is a request of its own,
// answered exactly once, and names its stream in `stream_id` (chosen by the client, unique
// among its link's open streams; 0 in a unary call). The opening request carries the
// method's first request (server streaming) or nothing; its reply is the stream's final
// status and, for client streaming, the response. A kCallStreamPull gives the server room
// for up to N messages (its 4-byte message): its reply carries one, or several
// (kCallStreamBatch), or kCallStreamEnd when the server has no more. A
// kCallStreamMessage carries one message from the client: its reply says the server took
// it. kCallStreamHalfClose says the client sends no more; kCallStreamCancel that it gave
// up. Exactly one of the kCallStream* request flags is set in a stream request.
//
// A unary call given up on (kCallGivenUp): the client says so in a request of its own,
// which names the call by its link id.
//
// Metadata (kCallMetadata; metadata_codec.h): a block right after the header, before an
// inline message, on a unary request or a stream's opening request (the caller's
// metadata), and on their replies (the server's trailing metadata). An error reply carries
// it in its text: a CallHeader with only kCallMetadata set and `message_size` the length
// of the real text, the block, then the text. A server sends that form whenever its text
// would otherwise start with kCallMagic's four bytes, so no plain text is read as one.

#ifndef SYSLINK_RPC_INTERNAL_CALL_FORMAT_H_
#define SYSLINK_RPC_INTERNAL_CALL_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace syslink::rpc::internal {

inline constexpr uint32_t kCallMagic = 0x43505253;  // "SRPC"
inline constexpr uint16_t kCallVersion = 1;

inline constexpr uint16_t kCallSpilled = 1 << 0;     // the message is in the DMA buffer
inline constexpr uint16_t kCallAttachment = 1 << 1;  // the DMA buffer carries an attachment
// Stream requests (one of them), and the end of a stream's messages (a pull's reply).
inline constexpr uint16_t kCallStreamOpen = 1 << 2;
inline constexpr uint16_t kCallStreamMessage = 1 << 3;
inline constexpr uint16_t kCallStreamPull = 1 << 4;
inline constexpr uint16_t kCallStreamHalfClose = 1 << 5;
inline constexpr uint16_t kCallStreamCancel = 1 << 6;
inline constexpr uint16_t kCallStreamEnd = 1 << 7;
// A pull's reply carrying several messages: each a 4-byte little-endian length and the
// message's bytes. Never with an attachment.
inline constexpr uint16_t kCallStreamBatch = 1 << 8;
inline constexpr uint16_t kCallStreamRequests = kCallStreamOpen | kCallStreamMessage |
                                                kCallStreamPull | kCallStreamHalfClose |
                                                kCallStreamCancel;
// A metadata block follows the header.
inline constexpr uint16_t kCallMetadata = 1 << 9;
// A unary call the client gave up on (it cancelled the call, or the call's deadline
// passed), so that the server can run the method's ServerContext::OnCancel() hook: a
// request of its own whose message is the given-up request's link id (kGivenUpSize bytes,
// little-endian). No other flag and no stream id; answered OK whether or not the call
// still runs.
inline constexpr uint16_t kCallGivenUp = 1 << 10;
inline constexpr size_t kGivenUpSize = 8;
inline constexpr uint16_t kCallKnownFlags = kCallSpilled | kCallAttachment | kCallStreamRequests |
                                            kCallStreamEnd | kCallStreamBatch | kCallMetadata |
                                            kCallGivenUp;
// The flags each kind of message may carry: a request never says `end` or `batch`; a reply
// never names a stream request or a given-up call; a unary call's reply carries its
// message, metadata and attachment, nothing of a stream's.
inline constexpr uint16_t kCallRequestFlags =
    kCallKnownFlags & ~(kCallStreamEnd | kCallStreamBatch);
inline constexpr uint16_t kCallUnaryReplyFlags = kCallSpilled | kCallAttachment | kCallMetadata;
inline constexpr uint16_t kCallStreamReplyFlags =
    kCallUnaryReplyFlags | kCallStreamEnd | kCallStreamBatch;
// A pull's message: how many messages the client has room for (4 bytes, little-endian).
inline constexpr size_t kPullSize = 4;
// Beside its window of messages, a client keeps at most this many bytes of a stream's
// messages unanswered (or one message, however large); a server refuses a stream's message
// past twice as many held unread.
inline constexpr size_t kStreamWindowBytes = 1 << 20;

struct CallHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t flags;
  uint32_t message_size;       // bytes of the serialized message
  uint32_t stream_id;          // the stream a stream message belongs to; 0 otherwise
  uint64_t attachment_offset;  // where the attachment starts in the DMA buffer
  int64_t deadline_unix_ns;    // requests: the caller's deadline; 0 for none
};
static_assert(sizeof(CallHeader) == 32);

inline constexpr size_t kCallHeaderSize = sizeof(CallHeader);

// The little-endian numbers of the formats above: a pull's room, a batch's lengths, a
// metadata block's sizes (4 bytes); a given-up call's id (8 bytes).
inline void StoreU32(std::byte* out, uint32_t v) {
  const uint8_t bytes[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                            static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
  std::memcpy(out, bytes, 4);
}
inline uint32_t LoadU32(const std::byte* in) {
  uint8_t b[4];
  std::memcpy(b, in, 4);
  return b[0] | b[1] << 8 | b[2] << 16 | static_cast<uint32_t>(b[3]) << 24;
}
inline void StoreU64(std::byte* out, uint64_t v) {
  StoreU32(out, static_cast<uint32_t>(v));
  StoreU32(out + 4, static_cast<uint32_t>(v >> 32));
}
inline uint64_t LoadU64(const std::byte* in) {
  return LoadU32(in) | static_cast<uint64_t>(LoadU32(in + 4)) << 32;
}

// The request that tells a server its caller gave up on unary call `id` (kCallGivenUp).
using GivenUpNotice = std::array<std::byte, kCallHeaderSize + kGivenUpSize>;
inline GivenUpNotice EncodeGivenUp(uint64_t id) {
  const CallHeader header{kCallMagic, kCallVersion, kCallGivenUp, kGivenUpSize, 0, 0, 0};
  GivenUpNotice notice;
  std::memcpy(notice.data(), &header, kCallHeaderSize);
  StoreU64(notice.data() + kCallHeaderSize, id);
  return notice;
}

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CALL_FORMAT_H_
