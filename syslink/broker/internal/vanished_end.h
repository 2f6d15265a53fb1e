// Answering for an end whose last holder is gone, and reading an end's pending requests.
//
//   absl::StatusOr<int> written = AnswerForVanishedEnd(region_fd, options, side);
//
// AnswerForVanishedEnd maps the link's region and first marks every request in the vanished
// end's own mirror given up (kMirrorGivenUp): nobody waits for those answers any more, and
// the survivor's RequestWatch (ServerContext::cancelled() in rpc/) sees it. Then it reads the
// surviving end's outstanding-request mirror and writes one synthetic PEER_DIED reply
// (CompleteUnreplied) per request found into the ring the vanished end used to write. It takes over
// that ring's producer role from the index last published, so a record the vanished end left
// half-written never becomes visible. The survivor checks these replies like any other; it drops a
// synthetic reply to a request it has already completed itself (it also sees its peer's socket
// close). Replies that do not fit in the ring are left to the survivor's own detection.
//
// ReadPendingRequests copies an end's mirror, for syslinkctl.
//
// Thread safety: call only for a vanished end (nobody else writes its ring). Errors: from
// mapping the region and attaching the ring (FAILED_PRECONDITION for a ring that fails its
// checks).

#ifndef SYSLINK_SYSLINK_BROKER_INTERNAL_VANISHED_END_H_
#define SYSLINK_SYSLINK_BROKER_INTERNAL_VANISHED_END_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "syslink/broker/control_messages.h"
#include "syslink/link_options.h"

namespace syslink::broker::internal {

// The number of synthetic replies written.
[[nodiscard]] absl::StatusOr<int> AnswerForVanishedEnd(int region_fd, const LinkOptions& options,
                                                       int vanished_side);

[[nodiscard]] absl::StatusOr<std::vector<PendingRequestListing>> ReadPendingRequests(
    int region_fd, const LinkOptions& options, int side);

}  // namespace syslink::broker::internal

#endif  // SYSLINK_SYSLINK_BROKER_INTERNAL_VANISHED_END_H_
