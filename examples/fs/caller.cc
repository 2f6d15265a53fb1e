#include "examples/fs/caller.h"

#include <time.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace syslink::examples::fs {
namespace {

int64_t MonotonicSeconds() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec;
}

}  // namespace

Caller CallerOf(const rpc::PeerIdentity& peer) {
  std::span<const gid_t> groups = peer.supplementary_groups();
  return {.uid = peer.uid, .gid = peer.gid, .groups = {groups.begin(), groups.end()}};
}

CallerTrust::CallerTrust(std::vector<uid_t> trusted_uids, std::string server)
    : trusted_uids_(std::move(trusted_uids)), server_(std::move(server)) {}

bool CallerTrust::Trusts(const rpc::PeerIdentity& peer) const {
  if (peer.uid == rpc::kNoUid) return false;  // a caller on another machine
  return peer.uid == 0 ||
         std::find(trusted_uids_.begin(), trusted_uids_.end(), peer.uid) != trusted_uids_.end();
}

absl::StatusOr<Caller> CallerTrust::Resolve(const rpc::PeerIdentity& peer,
                                            const OnBehalfOf* claim) const {
  if (claim == nullptr) return CallerOf(peer);
  if (!Trusts(peer)) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    LogRefusal(peer, *claim);
    return absl::PermissionDeniedError(
        absl::StrCat(server_, ": pid ", peer.pid, " (uid ", peer.uid, ", gid ", peer.gid,
                     ") may not act for another user (uid ", claim->uid(),
                     "); only root and the uids the server trusts may"));
  }
  return Caller{.uid = claim->uid(),
                .gid = claim->gid(),
                .groups = {claim->groups().begin(), claim->groups().end()}};
}

void CallerTrust::LogRefusal(const rpc::PeerIdentity& peer, const OnBehalfOf& claim) const {
  const int64_t now = MonotonicSeconds();
  int64_t last = last_log_seconds_.load(std::memory_order_relaxed);
  if (last == now || !last_log_seconds_.compare_exchange_strong(last, now)) return;
  const uint64_t refused = refused_.load(std::memory_order_relaxed);
  const uint64_t unlogged = refused - 1 - logged_.exchange(refused, std::memory_order_relaxed);
  std::fprintf(stderr,
               "%s: refused a call from pid %d (uid %u, gid %u) claiming to act for uid %u, "
               "gid %u, groups [%s], pid %u: that uid is not trusted to act for others%s\n",
               server_.c_str(), static_cast<int>(peer.pid), peer.uid, peer.gid, claim.uid(),
               claim.gid(), absl::StrJoin(claim.groups(), ",").c_str(), claim.pid(),
               unlogged > 0
                   ? absl::StrCat(" (", unlogged, " more refused since the last line)").c_str()
                   : "");
}

}  // namespace syslink::examples::fs
