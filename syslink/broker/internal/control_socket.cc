#include "syslink/broker/internal/control_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/fd_passing.h"

namespace syslink::broker::internal {

absl::Status SendControl(int socket, ControlType type, uint32_t sequence,
                         std::span<const std::byte> body, std::span<const int> fds) {
  if (body.size() + sizeof(ControlHeader) > kMaxControlMessage) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "control message of %d bytes exceeds the limit of %d", body.size(), kMaxControlMessage));
  }
  if (fds.size() > kMaxControlDescriptors) {
    return absl::InvalidArgumentError("too many descriptors for one control message");
  }
  ControlHeader header{kControlMagic, kControlVersion, static_cast<uint16_t>(type), sequence,
                       static_cast<uint32_t>(body.size())};
  absl::Status sent =
      SendWithDescriptors(socket, {std::as_bytes(std::span(&header, 1)), body}, fds);
  if (!sent.ok() && absl::IsUnavailable(sent)) {
    return absl::UnavailableError(
        absl::StrCat("the other side closed the control connection: ", sent.message()));
  }
  return sent;
}

absl::StatusOr<ControlPacket> ReceiveControl(int socket, absl::Time deadline) {
  return ReceiveControl(socket, deadline, nullptr);
}

absl::StatusOr<ControlPacket> ReceiveControl(
    int socket, absl::Time deadline, const std::function<void(std::vector<UniqueFd>)>& dispose) {
  if (absl::Status s = AwaitReadable(socket, deadline); !s.ok()) {
    if (absl::IsDeadlineExceeded(s)) {
      return absl::DeadlineExceededError("no control message before the deadline");
    }
    return s;
  }
  // One buffer per thread: a fresh 256 KiB allocation per message would be an mmap each.
  thread_local std::vector<std::byte> buffer(kMaxControlMessage);
  absl::StatusOr<ReceivedMessage> received = ReceiveWithDescriptors(socket, buffer, MSG_DONTWAIT);
  if (!received.ok()) return received.status();
  ControlPacket packet;
  if (dispose && !received->fds.empty()) {
    size_t count = received->fds.size();
    dispose(std::move(received->fds));
    return absl::InvalidArgumentError(
        absl::StrFormat("control message carries %d descriptors; none are accepted here", count));
  }
  packet.fds = std::move(received->fds);  // owned from here on, whatever else is wrong
  if (received->bytes == 0) {
    return absl::UnavailableError("the other side closed the control connection");
  }
  if (received->truncated || received->fds_truncated) {
    return absl::InvalidArgumentError(
        "control message truncated (too long, or too many descriptors)");
  }
  if (packet.fds.size() > kMaxControlDescriptors) {
    return absl::InvalidArgumentError(
        absl::StrFormat("control message carries %d descriptors, at most %d allowed",
                        packet.fds.size(), kMaxControlDescriptors));
  }
  ControlHeader header;
  if (received->bytes < sizeof(header)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("control message of %d bytes is shorter than its %d-byte header",
                        received->bytes, sizeof(header)));
  }
  std::memcpy(&header, buffer.data(), sizeof(header));
  if (header.magic != kControlMagic || header.version != kControlVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a syslink control message (magic 0x%08x, version %d)", header.magic, header.version));
  }
  if (header.body_length != received->bytes - sizeof(header)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("control message body is %d bytes but its header says %d",
                        received->bytes - sizeof(header), header.body_length));
  }
  packet.type = static_cast<ControlType>(header.type);
  packet.sequence = header.sequence;
  packet.body.assign(buffer.begin() + sizeof(header), buffer.begin() + received->bytes);
  return packet;
}

}  // namespace syslink::broker::internal
