// Whom a file server's rpc is for (Caller), and whom a server believes when a client says
// it calls for somebody else (CallerTrust).
//
//   CallerTrust trust({1000});                      // uid 1000 may speak for others; root too
//   absl::StatusOr<Caller> caller = trust.For(context, request);
//   if (!caller.ok()) return caller.status();      // PERMISSION_DENIED: refused, logged
//   tree.MakeNode(*caller, ...);                    // checked as, and owned by, *caller
//
// A direct client is the peer the broker attested: its uid, gid and supplementary groups
// (rpc::PeerIdentity). A client that serves others, such as fs_mount with each FUSE
// request's caller, names that caller in the request's `on_behalf_of` (fs.proto). The
// server believes it only from a peer it trusts to speak for others: root, or a uid it was
// started with (`--trust-uid`). Any other peer that claims an identity is refused with
// PERMISSION_DENIED (an RPC status: the call did not reach the filesystem), whatever it
// claims, even its own identity; nothing is done, under the claim or otherwise. Each
// refusal is counted, and logged on stderr (at most one line a second, with the count of
// those not logged) naming the peer's attested pid, uid and gid and what it claimed.
//
// A remote caller (rpc::RemotePeer(), through ServeGrpc) is never trusted. A server behind
// syslink-gateway sees the gateway as its peer: a gateway that runs as a trusted uid would
// pass every network client's claims on, so it must not be one (docs/grpc.md).
//
// Thread safety: Caller is a value; CallerTrust is thread-safe (its counters are atomic).

#ifndef SYSLINK_EXAMPLES_FS_CALLER_H_
#define SYSLINK_EXAMPLES_FS_CALLER_H_

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/fs/fs.pb.h"
#include "rpc/context.h"

namespace syslink::examples::fs {

// Who calls: uid, primary gid and supplementary groups, as the broker attested them for a
// direct client, or as a trusted client claimed them for its own caller.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary

  bool is_root() const { return uid == 0; }
  // Whether `group` is the caller's primary group or one of its supplementary groups (the
  // kernel's in_group_p).
  bool InGroup(gid_t group) const {
    return group == gid || std::find(groups.begin(), groups.end(), group) != groups.end();
  }
};

// The caller a direct client is: the attested uid, gid and groups.
Caller CallerOf(const rpc::PeerIdentity& peer);

class CallerTrust {
 public:
  // `trusted_uids` may speak for others, besides root. `server` names the server in logs.
  explicit CallerTrust(std::vector<uid_t> trusted_uids = {}, std::string server = "fs");
  CallerTrust(const CallerTrust&) = delete;
  CallerTrust& operator=(const CallerTrust&) = delete;

  // Whether claims from `peer` are believed: root or a trusted uid, never a remote peer.
  bool Trusts(const rpc::PeerIdentity& peer) const;

  // The caller of an rpc from `peer`: CallerOf(peer) when `claim` is null; the claim when
  // `peer` is trusted; otherwise PERMISSION_DENIED, counted and logged.
  [[nodiscard]] absl::StatusOr<Caller> Resolve(const rpc::PeerIdentity& peer,
                                               const OnBehalfOf* claim) const;

  // Resolve() for a request that may carry `on_behalf_of`.
  template <typename Request>
  [[nodiscard]] absl::StatusOr<Caller> For(const rpc::ServerContext& context,
                                           const Request& request) const {
    return Resolve(context.peer(), request.has_on_behalf_of() ? &request.on_behalf_of() : nullptr);
  }

  // Claims refused since the start.
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  void LogRefusal(const rpc::PeerIdentity& peer, const OnBehalfOf& claim) const;

  const std::vector<uid_t> trusted_uids_;
  const std::string server_;
  mutable std::atomic<uint64_t> refused_{0};
  mutable std::atomic<uint64_t> logged_{0};            // refusals logged
  mutable std::atomic<int64_t> last_log_seconds_{-1};  // monotonic, of the last line
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_CALLER_H_
