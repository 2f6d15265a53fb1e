#include "syslink/broker/internal/link_factory.h"

#include <fcntl.h>
#include <sys/socket.h>

#include "base/errno_status.h"
#include "ring/ring_control.h"
#include "ring/shared_region.h"
#include "syslink/internal/link_layout.h"

namespace syslink::broker::internal {
namespace {

using ::syslink::internal::LinkLayout;

absl::Status SocketPair(int type, UniqueFd* a, UniqueFd* b) {
  int fds[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
    return ErrnoStatus("socketpair");
  }
  a->Reset(fds[0]);
  b->Reset(fds[1]);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LinkResources> MakeLinkResources(const LinkOptions& options) {
  if (absl::Status s = ValidateLinkOptions(options); !s.ok()) return s;
  LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Create("syslink-link", layout.total_size, /*populate_bytes=*/0);
  if (!region.ok()) return region.status();
  for (int writer : {0, 1}) {
    absl::Status s = ring::InitializeRing(
        {region->data() + layout.RingOffset(writer), layout.ring_bytes}, options.wait.mode);
    if (!s.ok()) return s;
  }
  LinkResources resources;
  resources.region.Reset(fcntl(region->fd(), F_DUPFD_CLOEXEC, 0));
  if (!resources.region.valid()) return ErrnoStatus("dup of a link region");
  if (absl::Status s =
          SocketPair(SOCK_SEQPACKET, &resources.end_socket[0], &resources.end_socket[1]);
      !s.ok()) {
    return s;
  }
  for (int side : {0, 1}) {
    absl::Status s =
        SocketPair(SOCK_SEQPACKET, &resources.watch_for_end[side], &resources.watch_kept[side]);
    if (!s.ok()) return s;
  }
  return resources;  // the broker's own mapping goes with `region`
}

}  // namespace syslink::broker::internal
