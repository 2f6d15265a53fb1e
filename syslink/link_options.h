// LinkOptions: the shape of a link, fixed when its pair of ends is created.
//
//   syslink::LinkOptions options;
//   options.wait.mode = syslink::ring::WaitMode::kSpin;
//   absl::StatusOr<syslink::LinkPair> pair = syslink::Link::CreatePair(options);

#ifndef SYSLINK_SYSLINK_LINK_OPTIONS_H_
#define SYSLINK_SYSLINK_LINK_OPTIONS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "ring/ring_format.h"
#include "ring/wait_mode.h"
#include "syslink/msg_format.h"

namespace syslink {

struct LinkOptions {
  // Bytes of record space in each direction's ring; a power of two, 4 KiB to 1 GiB. Bounds
  // the inline payload of one message (MaxInlinePayload: ring_capacity - 64) and how much can be
  // in flight before a sender waits.
  uint64_t ring_capacity = 256 * 1024;
  // Bytes of DMA buffers each end can lend at once; a multiple of 4096.
  uint64_t arena_size = 4 * 1024 * 1024;
  // The largest DMA buffer a message may carry; at most arena_size.
  uint64_t max_dma_size = kDefaultMaxDmaSize;
  // How each end waits for messages and for room (see ring/wait_mode.h).
  ring::WaitOptions wait;
};

// OK, or INVALID_ARGUMENT saying which option is out of range.
[[nodiscard]] absl::Status ValidateLinkOptions(const LinkOptions& options);

// The largest inline payload of one message on a link with `options`: the ring's capacity
// less the record's header, the header marked after it, and the message header.
// Inline: every call a stub makes asks it.
inline uint64_t MaxInlinePayload(const LinkOptions& options) {
  return options.ring_capacity - 2 * ring::kRecordHeaderSize - kMessageHeaderSize;
}

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_LINK_OPTIONS_H_
