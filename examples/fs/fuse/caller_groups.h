// CallerGroups: the supplementary groups of the processes that make FUSE requests, kept
// for a short while so that a request does not read /proc every time.
//
//   CallerGroups groups(absl::Seconds(1));
//   std::vector<gid_t> list = groups.Get(ctx->pid, ctx->uid, ctx->gid, [&](auto* out) {
//     return ReadGroups(req, out);   // fuse_req_getgroups
//   });
//
// An entry is keyed by pid and kept only for the uid and gid it was read with: a request of
// the same pid with other credentials (a setuid, an exec, a reused pid) reads again. It
// lasts `ttl` (the mount's attribute timeout by default); a process that changes its
// groups within that time may be judged by the server with its former groups, as a cached
// attribute may be stale. The kernel checks the request against the process's current
// credentials first (default_permissions), so that can only ever refuse more.
//
// Thread safety: thread-safe (one mutex, not held while reading). Ownership: a value type.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_CALLER_GROUPS_H_
#define SYSLINK_EXAMPLES_FS_FUSE_CALLER_GROUPS_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace syslink::examples::fs {

class CallerGroups {
 public:
  // Reads the groups into `out`; false when they cannot be known (none are used then, and
  // nothing is kept).
  using Reader = std::function<bool(std::vector<gid_t>* out)>;

  explicit CallerGroups(absl::Duration ttl, size_t max_entries = 4096)
      : ttl_(ttl), max_entries_(max_entries) {}

  // The groups of `pid` running as `uid`/`gid`: kept ones younger than the ttl, else
  // `read`'s. `now` is for tests.
  std::vector<gid_t> Get(pid_t pid, uid_t uid, gid_t gid, const Reader& read,
                         absl::Time now = absl::Now());

  size_t size() const;

 private:
  struct Entry {
    uid_t uid;
    gid_t gid;
    absl::Time read_at;
    std::vector<gid_t> groups;
  };

  const absl::Duration ttl_;  // set at construction
  const size_t max_entries_;  // set at construction
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<pid_t, Entry> entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_CALLER_GROUPS_H_
