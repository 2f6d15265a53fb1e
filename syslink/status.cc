#include "syslink/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace syslink {
namespace {

constexpr absl::string_view kPeerDied = "PEER_DIED";
constexpr absl::string_view kBadMessage = "BAD_MESSAGE";

absl::Status Tagged(absl::StatusCode code, absl::string_view reason, absl::string_view message) {
  absl::Status status(code, absl::StrCat(reason, ": ", message));
  status.SetPayload(kStatusPayloadUrl, absl::Cord(reason));
  return status;
}

bool HasReason(const absl::Status& status, absl::string_view reason) {
  absl::optional<absl::Cord> payload = status.GetPayload(kStatusPayloadUrl);
  return payload.has_value() && *payload == reason;
}

}  // namespace

absl::Status PeerDiedError(absl::string_view message) {
  return Tagged(absl::StatusCode::kUnavailable, kPeerDied, message);
}

absl::Status BadMessageError(absl::string_view message) {
  return Tagged(absl::StatusCode::kDataLoss, kBadMessage, message);
}

bool IsPeerDied(const absl::Status& status) { return HasReason(status, kPeerDied); }
bool IsBadMessage(const absl::Status& status) { return HasReason(status, kBadMessage); }

}  // namespace syslink
