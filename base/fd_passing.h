// Sending and receiving descriptors (SCM_RIGHTS) with a message over a Unix socket.
//
//   SendWithDescriptors(socket, {header_bytes, body_bytes}, {fd_a, fd_b});
//   absl::StatusOr<ReceivedMessage> m = ReceiveWithDescriptors(socket, buffer);
//
// Receiving owns every descriptor that arrived, whatever else is wrong with the message,
// so none leaks: the caller checks the count it expects and drops the rest by letting them
// go. It has room for as many as one message can carry (SCM_MAX_FD), so the kernel never
// drops one itself: a descriptor dropped there is released on the receiving thread, where
// its release may block (see untrusted_descriptors.h). Both retry on EINTR.
//
// Thread safety: like the socket. Errors: UNAVAILABLE when the other side closed or reset
// the connection; RESOURCE_EXHAUSTED when a non-blocking socket is full (the other side
// does not read); INVALID_ARGUMENT for more descriptors than fit; others via ErrnoStatus.

#ifndef SYSLINK_BASE_FD_PASSING_H_
#define SYSLINK_BASE_FD_PASSING_H_

#include <cstddef>
#include <initializer_list>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace syslink {

// The most descriptors one message may carry, either way.
inline constexpr size_t kMaxPassedDescriptors = 8;
// The most the kernel passes with one message (SCM_MAX_FD): what receiving has room for.
inline constexpr size_t kMaxReceivableDescriptors = 253;

// Sends the concatenation of `pieces` as one message, with `fds` attached. Fails with
// UNAVAILABLE if it could not all be sent.
[[nodiscard]] absl::Status SendWithDescriptors(
    int socket, std::initializer_list<std::span<const std::byte>> pieces, std::span<const int> fds,
    int flags = 0);

struct ReceivedMessage {
  size_t bytes = 0;            // 0: the other side closed the connection
  std::vector<UniqueFd> fds;   // every descriptor that arrived
  bool truncated = false;      // the message was longer than the buffer
  bool fds_truncated = false;  // more descriptors came than kMaxPassedDescriptors (all
                               // that came are in `fds` nonetheless)
};

// Waits until `socket` is readable (a message, or the other side closing), or `deadline`
// (absl::InfinitePast(): only look): DEADLINE_EXCEEDED then.
[[nodiscard]] absl::Status AwaitReadable(int socket, absl::Time deadline);

// Receives one message into `buffer`. `flags` adds to MSG_CMSG_CLOEXEC (e.g. MSG_DONTWAIT).
[[nodiscard]] absl::StatusOr<ReceivedMessage> ReceiveWithDescriptors(int socket,
                                                                     std::span<std::byte> buffer,
                                                                     int flags = 0);

}  // namespace syslink

#endif  // SYSLINK_BASE_FD_PASSING_H_
