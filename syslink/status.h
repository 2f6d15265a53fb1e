// syslink's own outcomes, as canonical absl::Status codes.
//
//   absl::Status s = link.Call(...).status();
//   if (syslink::IsPeerDied(s)) Reconnect();
//
// syslink speaks absl::StatusCode end to end. Two outcomes of its own map onto canonical
// codes and carry a payload (kStatusPayloadUrl) naming them, so callers can tell them apart:
//
//   PEER_DIED    -> UNAVAILABLE  the other end exited, was killed, or closed the link
//                                while the request was unanswered
//   BAD_MESSAGE  -> DATA_LOSS    the peer broke the protocol (a malformed header, an
//                                out-of-range buffer, a reply to nothing); the link is closed
//
// DEADLINE_EXCEEDED and CANCELLED are the canonical codes themselves.

#ifndef SYSLINK_SYSLINK_STATUS_H_
#define SYSLINK_SYSLINK_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace syslink {

// The payload URL under which syslink names its own outcomes ("PEER_DIED", "BAD_MESSAGE").
inline constexpr absl::string_view kStatusPayloadUrl = "type.syslink/reason";

absl::Status PeerDiedError(absl::string_view message);
absl::Status BadMessageError(absl::string_view message);

bool IsPeerDied(const absl::Status& status);
bool IsBadMessage(const absl::Status& status);

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_STATUS_H_
