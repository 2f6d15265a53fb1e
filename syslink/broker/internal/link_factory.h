// MakeLinkResources(): everything a link made by the broker consists of, before it is
// handed out.
//
//   region              the sealed memfd, both rings initialized
//   end_socket[side]    the two ends of the link's SOCK_SEQPACKET socket pair
//   watch_for_end[side] one end of a "watch" socket pair, handed out with each end
//   watch_kept[side]    the other end of each watch pair, kept by the broker
//
// The watch socket travels with its end wherever the end goes (SendEnd passes it on), so
// the broker's side hangs up exactly when the last process holding that end is gone: that
// is when the broker may safely take over the end's ring and answer for it.
//
// Thread safety: a pure function. Errors: from SharedRegion::Create, InitializeRing and
// socketpair().

#ifndef SYSLINK_SYSLINK_BROKER_INTERNAL_LINK_FACTORY_H_
#define SYSLINK_SYSLINK_BROKER_INTERNAL_LINK_FACTORY_H_

#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "syslink/link_options.h"

namespace syslink::broker::internal {

struct LinkResources {
  UniqueFd region;
  UniqueFd end_socket[2];
  UniqueFd watch_for_end[2];
  UniqueFd watch_kept[2];
};

[[nodiscard]] absl::StatusOr<LinkResources> MakeLinkResources(const LinkOptions& options);

}  // namespace syslink::broker::internal

#endif  // SYSLINK_SYSLINK_BROKER_INTERNAL_LINK_FACTORY_H_
