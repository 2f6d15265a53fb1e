#include "syslink/broker/control_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"

namespace syslink::broker {

absl::Status SendControl(int socket, ControlType type, uint32_t sequence,
                         std::span<const std::byte> body, std::span<const int> fds) {
  if (body.size() + sizeof(ControlHeader) > kMaxControlMessage) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "control message of %d bytes exceeds the limit of %d", body.size(), kMaxControlMessage));
  }
  ControlHeader header{kControlMagic, kControlVersion, static_cast<uint16_t>(type), sequence,
                       static_cast<uint32_t>(body.size())};
  struct iovec iov[2] = {{&header, sizeof(header)},
                         {const_cast<std::byte*>(body.data()), body.size()}};
  alignas(struct cmsghdr) char control[CMSG_SPACE(kMaxControlDescriptors * sizeof(int))] = {};
  struct msghdr message = {};
  message.msg_iov = iov;
  message.msg_iovlen = body.empty() ? 1 : 2;
  if (!fds.empty()) {
    if (fds.size() > kMaxControlDescriptors) {
      return absl::InvalidArgumentError("too many descriptors for one control message");
    }
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
    sent = sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EPIPE || errno == ECONNRESET) {
      return absl::UnavailableError("the other side closed the control connection");
    }
    return ErrnoStatus("sendmsg of a control message");
  }
  if (static_cast<size_t>(sent) != sizeof(header) + body.size()) {
    return absl::UnavailableError("control message was sent only in part");
  }
  return absl::OkStatus();
}

absl::StatusOr<ControlPacket> ReceiveControl(int socket, absl::Time deadline) {
  struct pollfd p = {socket, POLLIN, 0};
  while (true) {
    absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    struct timespec timeout = absl::ToTimespec(left);
    int n = ppoll(&p, 1, deadline == absl::InfiniteFuture() ? nullptr : &timeout, nullptr);
    if (n > 0) break;
    if (n == 0) return absl::DeadlineExceededError("no control message before the deadline");
    if (errno != EINTR) return ErrnoStatus("poll on a control connection");
  }
  ControlPacket packet;
  // One buffer per thread: a fresh 256 KiB allocation per message would be an mmap each.
  thread_local std::vector<std::byte> buffer(kMaxControlMessage);
  struct iovec iov = {buffer.data(), buffer.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))] = {};
  struct msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t received;
  do {
    received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    if (errno == ECONNRESET) return absl::UnavailableError("control connection reset");
    return ErrnoStatus("recvmsg of a control message");
  }
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr;
       c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      packet.fds.emplace_back(fd);
    }
  }
  if (received == 0) return absl::UnavailableError("the other side closed the control connection");
  if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    return absl::InvalidArgumentError("control message truncated (too long, or too many descriptors)");
  }
  if (packet.fds.size() > kMaxControlDescriptors) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "control message carries %d descriptors, at most %d allowed", packet.fds.size(),
        kMaxControlDescriptors));
  }
  ControlHeader header;
  if (static_cast<size_t>(received) < sizeof(header)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "control message of %d bytes is shorter than its %d-byte header", received,
        sizeof(header)));
  }
  std::memcpy(&header, buffer.data(), sizeof(header));
  if (header.magic != kControlMagic || header.version != kControlVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a syslink control message (magic 0x%08x, version %d)", header.magic,
        header.version));
  }
  if (header.body_length != received - sizeof(header)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "control message body is %d bytes but its header says %d", received - sizeof(header),
        header.body_length));
  }
  packet.type = static_cast<ControlType>(header.type);
  packet.sequence = header.sequence;
  packet.body.assign(buffer.begin() + sizeof(header), buffer.begin() + received);
  return packet;
}

}  // namespace syslink::broker
