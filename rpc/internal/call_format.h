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

#ifndef SYSLINK_RPC_INTERNAL_CALL_FORMAT_H_
#define SYSLINK_RPC_INTERNAL_CALL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace syslink::rpc::internal {

inline constexpr uint32_t kCallMagic = 0x43505253;  // "SRPC"
inline constexpr uint16_t kCallVersion = 1;

inline constexpr uint16_t kCallSpilled = 1 << 0;     // the message is in the DMA buffer
inline constexpr uint16_t kCallAttachment = 1 << 1;  // the DMA buffer carries an attachment

struct CallHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t flags;
  uint32_t message_size;       // bytes of the serialized message
  uint32_t reserved;           // 0
  uint64_t attachment_offset;  // where the attachment starts in the DMA buffer
  int64_t deadline_unix_ns;    // requests: the caller's deadline; 0 for none
};
static_assert(sizeof(CallHeader) == 32);

inline constexpr size_t kCallHeaderSize = sizeof(CallHeader);

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CALL_FORMAT_H_
