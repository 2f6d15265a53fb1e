// Framing broker control messages on a SOCK_SEQPACKET socket, with descriptors.
//
//   SendControl(fd, ControlType::kUnregister, sequence, EncodeName("echo"), {});
//   absl::StatusOr<ControlPacket> p = ReceiveControl(fd, deadline);
//
// ReceiveControl owns every descriptor that arrives (closing them unless the caller takes
// them), and refuses a packet whose header is wrong, whose body length does not match,
// that was truncated, or that carries more than kMaxControlDescriptors descriptors.
//
// Thread safety: a socket may be used by one sender and one receiver at a time.
// Errors: INVALID_ARGUMENT for a malformed packet; UNAVAILABLE when the peer closed the
// connection; DEADLINE_EXCEEDED; system errors via ErrnoStatus.

#ifndef SYSLINK_SYSLINK_BROKER_INTERNAL_CONTROL_SOCKET_H_
#define SYSLINK_SYSLINK_BROKER_INTERNAL_CONTROL_SOCKET_H_

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/broker/control_messages.h"

namespace syslink::broker::internal {

inline constexpr size_t kMaxControlDescriptors = 3;

struct ControlPacket {
  ControlType type;
  uint32_t sequence = 0;
  std::vector<std::byte> body;
  std::vector<UniqueFd> fds;
};

[[nodiscard]] absl::Status SendControl(int socket, ControlType type, uint32_t sequence,
                                       std::span<const std::byte> body, std::span<const int> fds);

// Waits until `deadline` for a packet (absl::InfinitePast(): only if one is ready).
[[nodiscard]] absl::StatusOr<ControlPacket> ReceiveControl(int socket, absl::Time deadline);

// For a receiver that takes no descriptors (the broker): every descriptor that arrives goes
// to `dispose` before anything else is looked at, and the packet is INVALID_ARGUMENT.
[[nodiscard]] absl::StatusOr<ControlPacket> ReceiveControl(
    int socket, absl::Time deadline, const std::function<void(std::vector<UniqueFd>)>& dispose);

}  // namespace syslink::broker::internal

#endif  // SYSLINK_SYSLINK_BROKER_INTERNAL_CONTROL_SOCKET_H_
