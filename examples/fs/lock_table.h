// LockTable: the POSIX record locks and flock locks a file server holds for its clients
// (fs.proto's Locks), and the waits for them. Both servers keep one and serve each lock
// session with ServeLockSession (lock_session_service.h).
//
//   LockTable table;
//   auto outbox = std::make_shared<LockOutbox>();
//   uint64_t session = table.OpenSession(outbox);
//   int error = table.Set(session, request);      // 0, an errno, or kLockWaiting
//   ...                                            // a granted wait arrives in `outbox`
//   table.CloseSession(session);                   // its locks and waits go; others proceed
//
// Owners. A POSIX lock belongs to (session, request.owner()); a flock lock to the handle
// (request.fh()), whichever session took it, and is dropped by DropHandle() (the handle's
// Release) or when the session that took it ends. A POSIX lock replaces what its owner held
// on its range: the owner's ranges are split and merged so that they never overlap and
// adjacent ranges of one type are one. POSIX and flock locks never conflict with each
// other. Waits are granted in the order they came, each as soon as nothing conflicts.
//
// Files. The table names a file by a LockFile, two numbers the server chooses so that they
// name the file for as long as it exists, whatever its names and inode numbers: memfs
// gives {0, ino}, the passthrough the host's {st_dev, st_ino}, so that a lock holds
// however the file was reached.
//
// Requests reach the table checked by the session (op, type, range and handle); the table
// checks the limits: ENOLCK beyond kMaxLocksPerSession ranges held or kMaxWaitsPerSession
// waits (fs_format.h), so memory is bounded per session. No deadlock detection.
//
// Thread safety: thread-safe; one lock guards the table, and is held while a granted wait's
// answer is pushed into its session's outbox (LockOutbox's lock comes after the table's).
// Ownership: shares the outboxes; a session must be closed before the table goes.

#ifndef SYSLINK_EXAMPLES_FS_LOCK_TABLE_H_
#define SYSLINK_EXAMPLES_FS_LOCK_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "examples/fs/fs.pb.h"

namespace syslink::examples::fs {

// The answers of one lock session on their way to its client, in the order pushed. Any
// thread pushes (the session's own, or one that granted a wait); the session's writer pops.
class LockOutbox {
 public:
  // Queues `response`; never waits. Dropped once closed.
  void Push(LockResponse response);
  // Takes the next answer, waiting for one; false once closed.
  bool Pop(LockResponse* out);
  // Waits while `limit` or more answers are queued; false once closed.
  bool WaitBelow(size_t limit);
  // Drops what is queued; Pop() and WaitBelow() return false from now on.
  void Close();
  size_t queued() const;

 private:
  mutable absl::Mutex mutex_;
  std::deque<LockResponse> queue_ ABSL_GUARDED_BY(mutex_);
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
};

using LockFile = std::pair<uint64_t, uint64_t>;

// What Set() and Flock() return when the request waits: its answer comes later, through
// the session's outbox (0 when granted, EINTR when cancelled, EBADF when its handle went).
inline constexpr int kLockWaiting = -1;

class LockTable {
 public:
  LockTable() = default;
  LockTable(const LockTable&) = delete;
  LockTable& operator=(const LockTable&) = delete;

  // A new session whose granted waits are answered into `outbox`.
  uint64_t OpenSession(std::shared_ptr<LockOutbox> outbox);
  // Drops the session's locks (its POSIX locks, and the flock locks it took) and its
  // waits, unanswered, and grants the waits that now can be.
  void CloseSession(uint64_t session);

  // LOCK_GET: fills `out` with the first lock of another owner that conflicts, or type
  // LOCK_UNLOCK. 0, or EINVAL (type LOCK_UNLOCK).
  int Get(uint64_t session, LockFile file, const LockRequest& request, LockResponse* out);
  // LOCK_SET: 0, EAGAIN, ENOLCK, or kLockWaiting (request.wait()).
  int Set(uint64_t session, LockFile file, const LockRequest& request);
  // LOCK_FLOCK: as Set(), for the handle's whole-file lock.
  int Flock(uint64_t session, LockFile file, const LockRequest& request);
  // LOCK_RELEASE_OWNER: drops the POSIX locks of (session, owner) on `file`.
  void ReleaseOwner(uint64_t session, LockFile file, uint64_t owner);
  // LOCK_CANCEL: answers the session's wait `id` with EINTR; false when there is none.
  bool Cancel(uint64_t session, uint64_t id);
  // A handle released: drops its flock lock, answers its waits EBADF.
  void DropHandle(LockFile file, uint64_t fh);

  // For tests: ranges held and waits pending, over every session.
  size_t held() const;
  size_t waiting() const;

 private:
  struct Owner {
    bool flock = false;
    uint64_t session = 0;  // POSIX only: flock locks belong to the handle alone
    uint64_t id = 0;       // POSIX: the client's owner; flock: the handle
    bool operator==(const Owner& other) const {
      return flock == other.flock && id == other.id && session == other.session;
    }
  };
  struct Held {
    Owner owner;
    uint64_t session = 0;  // who took it
    bool exclusive = false;
    uint64_t start = 0;
    uint64_t end = 0;
    uint32_t pid = 0;
  };
  struct Waiter {
    Held want;
    LockType type = LOCK_UNLOCK;
    uint64_t id = 0;  // the request's
    uint64_t fh = 0;
  };
  struct File {
    std::vector<Held> held;
    std::deque<Waiter> waiters;
  };
  struct Session {
    std::shared_ptr<LockOutbox> outbox;
    size_t held = 0;                                // ranges it took, over every file
    absl::flat_hash_map<uint64_t, LockFile> waits;  // request id -> file
    absl::flat_hash_set<LockFile> files;            // where it holds or waits
  };

  static Owner OwnerOf(uint64_t session, const LockRequest& request, bool flock);
  static const Held* Conflict(const File& file, const Held& want);
  // Applies `want` of `type` (LOCK_UNLOCK removes) to its owner's ranges in `file`, keeping
  // the session's count of ranges; ENOLCK (and nothing changed) beyond the limit.
  int Apply(File& file, const Held& want, LockType type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Set() and Flock() once `want` is built.
  int Lock(LockFile file, const Held& want, LockType type, const LockRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Grants the waits of `file` that can be, answering each.
  void Grant(LockFile file) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Forgets `file` for `session` when it neither holds nor waits there, and the file when
  // nobody does.
  void Tidy(LockFile file, uint64_t session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Answer(uint64_t session, uint64_t id, int error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<LockFile, File> files_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, Session> sessions_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_session_ ABSL_GUARDED_BY(mutex_) = 1;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_LOCK_TABLE_H_
