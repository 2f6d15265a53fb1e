// MountLocks: the mount's lock session with the server (LockSession, lock_session.h) and
// what the bridge remembers about the POSIX lock owners it has seen.
//
//   absl::StatusOr<std::shared_ptr<LockSession>> session = locks.SessionFor(lease);
//   locks.NoteOwner(node, fi->lock_owner);              // before a lock request
//   if (locks.TakeOwner(node, fi->lock_owner)) ...      // at FLUSH: release them on the server
//
// One session per epoch, opened on the first lock request of the epoch over that
// request's link and kept until a request finds it ended (the server died) or of an older
// epoch. Every process using the mount shares it: the kernel's lock_owner (one per
// process) tells their POSIX locks apart, and the handle their flock locks. Requests on
// it never hold a link or a libfuse thread while they wait (LockSession answers each when
// the server does), so an unlock that comes through the same link proceeds.
//
// Owners: NoteOwner() records (node, lock_owner) before each lock request; TakeOwner()
// forgets it and says whether it was there, so that a close(2) (FLUSH) costs a round trip
// only for an owner that took a lock on that node since its last close. Memory: one entry
// per (node, owner) that locked and has not closed since.
//
// Thread safety: thread-safe. Ownership: the sessions hold their epoch's channel; a
// replaced session is destroyed (its waits answered ENOTCONN) by whoever drops it last.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_MOUNT_LOCKS_H_
#define SYSLINK_EXAMPLES_FS_FUSE_MOUNT_LOCKS_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "examples/fs/fuse/upstream.h"
#include "examples/fs/lock_session.h"

namespace syslink::examples::fs {

class MountLocks {
 public:
  // The session of the lease's epoch, opened on the lease's channel when there is none.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<LockSession>> SessionFor(Upstream::Lease& lease);
  // Cancels request `id` of the current session (LockSession::Cancel).
  void Cancel(uint64_t id);
  // Ends the session, its waiting requests answered ENOTCONN: before the FUSE session
  // whose requests they answer goes (the bridge's destroy). The next request opens anew.
  void Close();

  void NoteOwner(uint64_t node, uint64_t owner);
  [[nodiscard]] bool TakeOwner(uint64_t node, uint64_t owner);

 private:
  absl::Mutex mutex_;
  uint64_t epoch_ ABSL_GUARDED_BY(mutex_) = 0;
  std::shared_ptr<LockSession> session_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::pair<uint64_t, uint64_t>> owners_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_MOUNT_LOCKS_H_
