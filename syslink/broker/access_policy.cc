#include "syslink/broker/access_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace syslink::broker {

bool AccessPolicy::Allows(const Credentials& client, uid_t owner_uid) const {
  if (client.uid == 0) return true;
  if (allowed_uids.empty() && allowed_gids.empty()) return client.uid == owner_uid;
  return std::count(allowed_uids.begin(), allowed_uids.end(), client.uid) > 0 ||
         std::count(allowed_gids.begin(), allowed_gids.end(), client.gid) > 0;
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
