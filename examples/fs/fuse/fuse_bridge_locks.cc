// FuseBridge: POSIX record locks (getlk, setlk), flock, and what close(2) does to them
// (flush), all answered by the server's lock session (MountLocks, lock_session.h).
//
// Each request is sent on the mount's lock session and answered from the session's
// reader thread when the server answers: the libfuse thread that took it goes back to the
// kernel's next request at once, and no link is held meanwhile. So a lock that waits
// (F_SETLKW, flock without LOCK_NB) never stops the mount, and the unlock that ends the
// wait, from another process through this same mount, gets through. A waiting request
// that the kernel interrupts (a signal to the waiting process, its kill) is cancelled on
// the server and answered EINTR.

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include <cstdint>
#include <memory>

#include "examples/fs/fs_format.h"
#include "examples/fs/fuse/fuse_bridge.h"

namespace syslink::examples::fs {
namespace {

FuseBridge* Self(fuse_req_t req) { return static_cast<FuseBridge*>(fuse_req_userdata(req)); }

// fcntl's lock type as fs.proto's; false for any other value.
bool ToLockType(short type, LockType* out) {
  switch (type) {
    case F_RDLCK:
      *out = LOCK_SHARED;
      return true;
    case F_WRLCK:
      *out = LOCK_EXCLUSIVE;
      return true;
    case F_UNLCK:
      *out = LOCK_UNLOCK;
      return true;
    default:
      return false;
  }
}

// The byte range of `lock` (libfuse gives l_whence SEEK_SET, and l_len 0 for "to the end
// of the file") as [start, end]; false when it is not a range fs.proto takes.
bool ToRange(const struct flock& lock, uint64_t* start, uint64_t* end) {
  if (lock.l_start < 0 || lock.l_len < 0) return false;
  *start = static_cast<uint64_t>(lock.l_start);
  if (lock.l_len == 0) {
    *end = kLockEof;
    return true;
  }
  off_t last;
  if (__builtin_add_overflow(lock.l_start, lock.l_len - 1, &last)) return false;
  *end = static_cast<uint64_t>(last);
  return *end <= kLockEof;
}

// A record-lock request (getlk, setlk) of `lock` by `owner`; false, with nothing set, when
// `lock` is not a lock fs.proto takes.
bool ToRecordLock(LockOp op, uint64_t owner, const struct flock& lock, LockRequest* out) {
  LockType type;
  uint64_t start;
  uint64_t end;
  if (!ToLockType(lock.l_type, &type) || !ToRange(lock, &start, &end)) return false;
  out->set_op(op);
  out->set_owner(owner);
  out->set_type(type);
  out->set_start(start);
  out->set_end(end);
  return true;
}

// What the kernel gets for an answer that is not a lock: 0, the server's errno (ENOTCONN
// when the session ended), or EIO for a value that is no errno.
int ReplyErrno(const LockResponse& answer) {
  return answer.error() >= 0 && answer.error() < 512 ? answer.error() : EIO;
}

}  // namespace

void FuseBridge::Destroy() { locks_.Close(); }

void FuseBridge::OnLockInterrupt(fuse_req_t req, void* data) {
  Self(req)->locks_.Cancel(reinterpret_cast<uintptr_t>(data));
}

bool FuseBridge::StartLock(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, LockRequest request,
                           bool interruptible, LockSession::Done done) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return false;
  absl::StatusOr<std::shared_ptr<LockSession>> session = locks_.SessionFor(*lease);
  if (!session.ok()) {
    ReplyError(req, *lease, session.status());
    return false;
  }
  lease.reset();  // the request holds no link while it waits
  request.set_ino(ino);
  request.set_fh(fh);
  const uint64_t id = (*session)->Reserve();
  // Before Start(): once answered, `req` is gone. An interrupt that came already cancels
  // the reserved id at once, and Start() then answers EINTR.
  if (interruptible) fuse_req_interrupt_func(req, &OnLockInterrupt, reinterpret_cast<void*>(id));
  (*session)->Start(id, std::move(request), std::move(done));
  return true;
}

void FuseBridge::GetLk(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, struct flock* lock) {
  LockRequest request;
  if (!ToRecordLock(LOCK_GET, fi->lock_owner, *lock, &request) || request.type() == LOCK_UNLOCK) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  StartLock(req, node, fi, std::move(request), /*interruptible=*/false,
            [req, asked = *lock](const LockResponse& answer) {
              if (answer.error() != 0) {
                fuse_reply_err(req, ReplyErrno(answer));
                return;
              }
              struct flock out = asked;
              out.l_whence = SEEK_SET;
              if (answer.type() == LOCK_UNLOCK) {
                out.l_type = F_UNLCK;
              } else {
                out.l_type = answer.type() == LOCK_EXCLUSIVE ? F_WRLCK : F_RDLCK;
                out.l_start = static_cast<off_t>(answer.start());
                out.l_len = answer.end() >= kLockEof
                                ? 0
                                : static_cast<off_t>(answer.end() - answer.start() + 1);
                out.l_pid = static_cast<pid_t>(answer.pid());
              }
              fuse_reply_lock(req, &out);
            });
}

void FuseBridge::SetLk(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, struct flock* lock,
                       int sleep) {
  LockRequest request;
  if (!ToRecordLock(LOCK_SET, fi->lock_owner, *lock, &request)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  request.set_pid(static_cast<uint32_t>(lock->l_pid));
  request.set_wait(sleep != 0);
  // Noted before the request is sent, so that a close(2) after it releases on the server.
  if (request.type() != LOCK_UNLOCK) locks_.NoteOwner(node, fi->lock_owner);
  StartLock(req, node, fi, std::move(request), /*interruptible=*/sleep != 0,
            [req](const LockResponse& answer) { fuse_reply_err(req, ReplyErrno(answer)); });
}

void FuseBridge::Flock(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi, int op) {
  LockType type;
  switch (op & ~LOCK_NB) {
    case LOCK_SH:
      type = LOCK_SHARED;
      break;
    case LOCK_EX:
      type = LOCK_EXCLUSIVE;
      break;
    case LOCK_UN:
      type = LOCK_UNLOCK;
      break;
    default:
      fuse_reply_err(req, EINVAL);
      return;
  }
  const bool wait = (op & LOCK_NB) == 0 && type != LOCK_UNLOCK;
  LockRequest request;
  request.set_op(LOCK_FLOCK);
  request.set_type(type);
  request.set_wait(wait);
  request.set_pid(static_cast<uint32_t>(fuse_req_ctx(req)->pid));
  StartLock(req, node, fi, std::move(request), /*interruptible=*/wait,
            [req](const LockResponse& answer) { fuse_reply_err(req, ReplyErrno(answer)); });
}

void FuseBridge::Flush(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  if (locks_.TakeOwner(node, fi->lock_owner)) {
    // close(2) drops the closing process's POSIX locks on the file, which the server holds.
    LockRequest request;
    request.set_op(LOCK_RELEASE_OWNER);
    request.set_owner(fi->lock_owner);
    StartLock(req, node, fi, std::move(request), /*interruptible=*/false,
              [req](const LockResponse& answer) {
                // A session that ended holds nothing any more.
                fuse_reply_err(req, answer.error() == ENOTCONN ? 0 : ReplyErrno(answer));
              });
    return;
  }
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  // Answered here: writes are write-through, so nothing is pending in the mount, the
  // server's Flush would only check the handle, which ServerHandle just did, and this
  // owner holds no lock on the file. One round trip fewer for every such close(2).
  fuse_reply_err(req, 0);
}

}  // namespace syslink::examples::fs
