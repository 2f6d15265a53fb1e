// CapabilityCache: the nodes the server lately said carry no file capability
// (the security.capability extended attribute).
//
//   CapabilityCache cache(absl::Seconds(1));
//   if (cache.KnownAbsent(node)) return fuse_reply_err(req, ENODATA);
//   const uint64_t asked = cache.generation();
//   ... ask the server; on ENODATA: cache.NoteAbsent(node, asked);
//
// The kernel asks a FUSE filesystem for security.capability before every write(2) to a
// file, to drop the capability of a file that changes: one kernel request and one server
// call per write, for an attribute files rarely carry. The bridge answers those from here.
//
// An absence is kept for `ttl` (the mount's attribute timeout): another client's setting
// of a capability shows within that time, as its other changes do (a write meanwhile
// leaves that capability in place). A change through this mount (SetXattr, RemoveXattr)
// and the kernel's forgetting of a node drop what is known of it at once. An answer the
// server gave before such a change is not kept: NoteAbsent takes the generation read
// before the server was asked and keeps nothing when the cache changed since.
//
// Thread safety: thread-safe (one mutex). Ownership: a value type.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_CAPABILITY_CACHE_H_
#define SYSLINK_EXAMPLES_FS_FUSE_CAPABILITY_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace syslink::examples::fs {

// The extended attribute the kernel asks for before a write.
inline constexpr absl::string_view kCapabilityXattr = "security.capability";

class CapabilityCache {
 public:
  explicit CapabilityCache(absl::Duration ttl, size_t max_entries = 65536)
      : ttl_(ttl), max_entries_(max_entries) {}

  // True when the server said `node` has no capability less than ttl before `now`.
  bool KnownAbsent(uint64_t node, absl::Time now = absl::Now());

  // Read before asking the server; NoteAbsent keeps nothing if it has changed since.
  uint64_t generation() const;

  // The server said `node` has no capability, asked at `generation`.
  void NoteAbsent(uint64_t node, uint64_t generation, absl::Time now = absl::Now());

  // `node`'s extended attributes changed through the mount, or the kernel forgot it.
  void Drop(uint64_t node);

  size_t size() const;

 private:
  const absl::Duration ttl_;  // set at construction
  const size_t max_entries_;  // set at construction
  mutable absl::Mutex mutex_;
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<uint64_t, absl::Time> seen_at_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_CAPABILITY_CACHE_H_
