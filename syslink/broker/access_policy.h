// AccessPolicy: who may connect to a service, decided on kernel-attested credentials.
//
//   AccessPolicy policy = AccessPolicy::SameUser();   // the default
//   policy.allowed_uids.push_back(1000);
//   if (!policy.Allows(peer, owner_uid)) ... PERMISSION_DENIED
//
// A client is allowed when its uid is in allowed_uids, or its primary gid or one of its
// supplementary groups is in allowed_gids. An empty policy means "the uid that registered
// the service" (and root, which may do anything). Credentials come from SO_PEERCRED and
// SO_PEERGROUPS on the client's connection to the broker, never from what the client says.
//
// Thread safety: a value type.

#ifndef SYSLINK_SYSLINK_BROKER_ACCESS_POLICY_H_
#define SYSLINK_SYSLINK_BROKER_ACCESS_POLICY_H_

#include <sys/types.h>

#include <span>
#include <string>
#include <vector>

namespace syslink::broker {

struct Credentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct AccessPolicy {
  std::vector<uid_t> allowed_uids;
  std::vector<gid_t> allowed_gids;

  static AccessPolicy SameUser() { return {}; }

  // Whether `client`, whose supplementary groups are `groups`, may connect to a service
  // that `owner_uid` registered.
  bool Allows(const Credentials& client, uid_t owner_uid, std::span<const gid_t> groups = {}) const;

  // "uid 1000 (the owner)", "uids 1000, 1001; gids 27": for messages and syslinkctl.
  std::string Describe(uid_t owner_uid) const;
};

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_ACCESS_POLICY_H_
