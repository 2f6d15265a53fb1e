// NamePolicy: who may register which service names with a broker.
//
//   absl::StatusOr<NamePolicy> policy = NamePolicy::Load("/etc/syslink/broker.policy", 0);
//   absl::Status s = policy->MayRegister("org.example.echo", peer, peer_groups);
//
// Without a policy file (NamePolicy::OwnerOnly) only the broker's own uid and root may
// register names: exactly today's per-user broker, whose socket only its user can reach,
// and a machine-wide broker on which no other user can take a name. A policy file gives
// names to other users. Each line is a rule:
//
//   # comment
//   org.example.echo     user=alice            # this one name
//   org.example.*        uid=1000 group=staff  # every name that starts "org.example."
//   *                    gid=100               # every name no other rule covers
//
// A pattern is a service name, or a prefix of one followed by '*'. Who: uid=N, gid=N,
// user=NAME, group=NAME (names are looked up once, when the file is loaded). The rule that
// decides for a name is its exact rule if there is one, else the matching prefix rule with
// the longest prefix; only the users and groups it lists may register the name (a group
// matches the registrant's primary group or any supplementary one). A name no rule covers
// is the broker's own. Root and the broker's own uid may always register any name.
//
// Ownership is what keeps a name safe when its server dies: the name falls free, and only
// its owners may register it again.
//
// Thread safety: a value type, immutable once loaded.
// Errors: Load and Parse return INVALID_ARGUMENT naming the file and line of a bad rule
// (or NOT_FOUND / PERMISSION_DENIED for the file); MayRegister returns PERMISSION_DENIED
// saying which rule refused and whom it admits.

#ifndef SYSLINK_SYSLINK_BROKER_NAME_POLICY_H_
#define SYSLINK_SYSLINK_BROKER_NAME_POLICY_H_

#include <sys/types.h>

#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "syslink/broker/access_policy.h"

namespace syslink::broker {

class NamePolicy {
 public:
  // Only `broker_uid` and root may register names.
  static NamePolicy OwnerOnly(uid_t broker_uid);

  // The rules in `path`, for a broker running as `broker_uid`.
  [[nodiscard]] static absl::StatusOr<NamePolicy> Load(const std::string& path, uid_t broker_uid);
  // The rules in `text`; `origin` names it in messages (a path).
  [[nodiscard]] static absl::StatusOr<NamePolicy> Parse(absl::string_view text,
                                                        const std::string& origin,
                                                        uid_t broker_uid);

  // OK if `who` (with supplementary groups `groups`) may register `name`.
  [[nodiscard]] absl::Status MayRegister(const std::string& name, const Credentials& who,
                                         std::span<const gid_t> groups) const;

  size_t rules() const { return rules_.size(); }

 private:
  struct Rule {
    std::string prefix;  // the pattern without its '*', or the whole name
    bool is_prefix = false;
    std::vector<uid_t> uids;
    std::vector<gid_t> gids;
    int line = 0;
    std::string text;  // the pattern as written
  };

  // The rule that decides for `name`, or null.
  const Rule* Decide(const std::string& name) const;

  std::string origin_;  // empty: no policy file
  uid_t broker_uid_ = 0;
  std::vector<Rule> rules_;
};

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_NAME_POLICY_H_
