#include "tests/link_hostile_peer_testing.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/end_transfer.h"

namespace syslink::testing {

void RawPeer::Wake() const {
  char byte = 'w';
  (void)send(socket_, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int WaitForLinkToClose(int socket) {
  const absl::Time give_up = absl::Now() + kChildPatience;
  while (absl::Now() < give_up) {
    struct pollfd p = {socket, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n > 0 && (p.revents & (POLLHUP | POLLERR))) return kOk;
    char bytes[64];
    while (n > 0 && recv(socket, bytes, sizeof(bytes), MSG_DONTWAIT) > 0) {
    }
  }
  return kLinkStayedOpen;
}

int RunHostilePeer(const std::string& token, const LinkOptions& options, const Attack& attack) {
  // prefix:socket:memfd:watch:side:...
  std::vector<std::string> fields = absl::StrSplit(token, ':');
  int socket = -1, memory = -1, side = -1;
  if (fields.size() < 5 || !absl::SimpleAtoi(fields[1], &socket) ||
      !absl::SimpleAtoi(fields[2], &memory) || !absl::SimpleAtoi(fields[4], &side)) {
    return kBadToken;
  }
  absl::StatusOr<Link> end = AdoptEnd(token);
  if (!end.ok()) return kAdoptFailed;
  internal::LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Map(UniqueFd(dup(memory)), layout.total_size);
  if (!region.ok()) return kMapFailed;
  RawPeer peer(*std::move(region), layout, side, socket);
  if (!peer.Attach(options.wait)) return kAttachFailed;
  if (!attack(peer)) return kWriteFailed;
  return WaitForLinkToClose(socket);
}

MessageHeader Header(MessageKind kind, uint64_t id, uint16_t flags) {
  MessageHeader header = NewHeader(kind, id);
  header.flags = flags;
  return header;
}

MessageHeader WithDma(MessageHeader header, uint64_t offset, uint64_t length) {
  header.dma_offset = offset;
  header.dma_length = length;
  return header;
}

Attack Writes(MessageHeader header, size_t inline_bytes) {
  return [header, inline_bytes](RawPeer& peer) {
    std::vector<std::byte> data(inline_bytes, std::byte{0x11});
    return peer.WriteMessage(header, data);
  };
}

}  // namespace syslink::testing
