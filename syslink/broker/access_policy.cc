#include "syslink/broker/access_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace syslink::broker {

bool AccessPolicy::Allows(const Credentials& client, uid_t owner_uid,
                          std::span<const gid_t> groups) const {
  if (client.uid == 0) return true;
  if (allowed_uids.empty() && allowed_gids.empty()) return client.uid == owner_uid;
  if (std::count(allowed_uids.begin(), allowed_uids.end(), client.uid) > 0) return true;
  for (gid_t gid : allowed_gids) {
    if (gid == client.gid || std::count(groups.begin(), groups.end(), gid) > 0) return true;
  }
  return false;
}

std::string AccessPolicy::Describe(uid_t owner_uid) const {
  if (allowed_uids.empty() && allowed_gids.empty()) {
    return absl::StrCat("uid ", owner_uid, " (the owner)");
  }
  std::string text;
  if (!allowed_uids.empty()) absl::StrAppend(&text, "uids ", absl::StrJoin(allowed_uids, ", "));
  if (!allowed_gids.empty()) {
    absl::StrAppend(&text, text.empty() ? "" : "; ", "gids ", absl::StrJoin(allowed_gids, ", "));
  }
  return text;
}

}  // namespace syslink::broker
