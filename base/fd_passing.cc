#include "base/fd_passing.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/time/clock.h"
#include "base/errno_status.h"

namespace syslink {

absl::Status SendWithDescriptors(int socket,
                                 std::initializer_list<std::span<const std::byte>> pieces,
                                 std::span<const int> fds, int flags) {
  if (fds.size() > kMaxPassedDescriptors) {
    return absl::InvalidArgumentError("too many descriptors for one message");
  }
  struct iovec iov[4];
  size_t count = 0, total = 0;
  for (std::span<const std::byte> piece : pieces) {
    if (piece.empty()) continue;
    if (count == std::size(iov)) return absl::InvalidArgumentError("too many message pieces");
    iov[count++] = {const_cast<std::byte*>(piece.data()), piece.size()};
    total += piece.size();
  }
  alignas(struct cmsghdr) char control[CMSG_SPACE(kMaxPassedDescriptors * sizeof(int))] = {};
  struct msghdr message = {};
  message.msg_iov = iov;
  message.msg_iovlen = count;
  if (!fds.empty()) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), fds.data(), fds.size() * sizeof(int));
  }
  ssize_t sent;
  do {
    sent = sendmsg(socket, &message, flags | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EPIPE || errno == ECONNRESET) {
      return absl::UnavailableError("the other side closed the connection");
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return absl::ResourceExhaustedError(
          "the socket is full: the other side is not reading it (sendmsg: EAGAIN)");
    }
    return ErrnoStatus("sendmsg");
  }
  if (static_cast<size_t>(sent) != total) {
    return absl::UnavailableError("the message was sent only in part");
  }
  return absl::OkStatus();
}

absl::Status AwaitReadable(int socket, absl::Time deadline) {
  struct pollfd p = {socket, POLLIN, 0};
  while (true) {
    absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    struct timespec timeout = absl::ToTimespec(left);
    int n = ppoll(&p, 1, deadline == absl::InfiniteFuture() ? nullptr : &timeout, nullptr);
    if (n > 0) return absl::OkStatus();
    if (n == 0) return absl::DeadlineExceededError("nothing arrived before the deadline");
    if (errno != EINTR) return ErrnoStatus("poll");
  }
}

absl::StatusOr<ReceivedMessage> ReceiveWithDescriptors(int socket, std::span<std::byte> buffer,
                                                       int flags) {
  struct iovec iov = {buffer.data(), buffer.size()};
  // Room for SCM_MAX_FD descriptors, and for credentials on a socket with SO_PASSCRED.
  alignas(struct cmsghdr) char control[CMSG_SPACE(kMaxReceivableDescriptors * sizeof(int)) +
                                       CMSG_SPACE(sizeof(struct ucred))] = {};
  struct msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t received;
  do {
    received = recvmsg(socket, &message, flags | MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    if (errno == ECONNRESET) return absl::UnavailableError("the connection was reset");
    return ErrnoStatus("recvmsg");
  }
  ReceivedMessage out;
  out.bytes = static_cast<size_t>(received);
  out.truncated = message.msg_flags & MSG_TRUNC;
  out.fds_truncated = message.msg_flags & MSG_CTRUNC;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      out.fds.emplace_back(fd);
    }
  }
  if (out.fds.size() > kMaxPassedDescriptors) out.fds_truncated = true;
  return out;
}

}  // namespace syslink
