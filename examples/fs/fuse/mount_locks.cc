#include "examples/fs/fuse/mount_locks.h"

namespace syslink::examples::fs {

absl::StatusOr<std::shared_ptr<LockSession>> MountLocks::SessionFor(Upstream::Lease& lease) {
  std::shared_ptr<LockSession> replaced;  // destroyed after the lock is let go
  absl::MutexLock lock(&mutex_);
  if (session_ != nullptr && epoch_ == lease.epoch() && !session_->ended()) return session_;
  absl::StatusOr<std::unique_ptr<LockSession>> opened =
      LockSession::Open(lease.client().shared_channel());
  if (!opened.ok()) return opened.status();
  replaced = std::exchange(session_, std::shared_ptr<LockSession>(*std::move(opened)));
  epoch_ = lease.epoch();
  return session_;
}

void MountLocks::Cancel(uint64_t id) {
  std::shared_ptr<LockSession> session;
  {
    absl::MutexLock lock(&mutex_);
    session = session_;
  }
  if (session != nullptr) session->Cancel(id);
}

void MountLocks::Close() {
  std::shared_ptr<LockSession> closed;  // destroyed after the lock is let go
  absl::MutexLock lock(&mutex_);
  closed = std::move(session_);
}

void MountLocks::NoteOwner(uint64_t node, uint64_t owner) {
  absl::MutexLock lock(&mutex_);
  owners_.emplace(node, owner);
}

bool MountLocks::TakeOwner(uint64_t node, uint64_t owner) {
  absl::MutexLock lock(&mutex_);
  return owners_.erase(std::make_pair(node, owner)) > 0;
}

}  // namespace syslink::examples::fs
