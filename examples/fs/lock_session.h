// LockSession: a client's lock session with a file server (fs.proto's Locks stream): POSIX
// record locks and flock locks that the server holds, so that they hold between all its
// clients.
//
//   absl::StatusOr<std::unique_ptr<LockSession>> locks = LockSession::Open(fs.shared_channel());
//   absl::Status s = (*locks)->Lock(ino, fh, /*owner=*/1, LOCK_EXCLUSIVE, 0, kLockEof,
//                                    /*wait=*/false);
//   if (ErrnoOf(s) == EAGAIN) ...                        // another owner holds a conflicting lock
//   absl::StatusOr<LockResponse> holder = (*locks)->Test(ino, fh, 1, LOCK_SHARED, 0, 99);
//   (*locks)->ReleaseOwner(ino, fh, 1);                  // what close(2) does to POSIX locks
//
// Owners: the session and an `owner` number of the caller's choice own a POSIX lock, so
// two LockSessions (two clients) conflict, and two owners of one session conflict too; a
// flock lock belongs to the handle. Ranges are [start, end], `end` inclusive, kLockEof
// standing for the end of the file (fs_format.h). Destroying the session, or the client's
// process dying, drops every lock it held.
//
// Waiting. Lock() and Flock() with `wait` return once the server grants the lock; no thread
// of the server waits meanwhile, and other requests of the session (from other threads)
// go on. Start() is the asynchronous form, and Cancel() ends a wait (EINTR), as a signal
// ends fcntl(F_SETLKW): fs_mount answers each FUSE lock request that way, cancelling it
// when the kernel interrupts it.
//
// Errors: the server's errno as ErrnoError (fs_status.h; fs.proto lists them). When the
// session ended (the server died, or closed the stream) every request still waiting, and
// every later one, gets ENOTCONN; over a channel that carries no streams Open() succeeds
// and every request fails with the stream's status (UNIMPLEMENTED).
//
// Thread safety: thread-safe; `done` callbacks run on the session's reader thread (or on
// the caller's, when the answer is known at once) and must not destroy the session.
// Ownership: shares the channel; the session must be destroyed before the channel's
// transport is (a LinkChannel may go first: the session holds it).

#ifndef SYSLINK_EXAMPLES_FS_LOCK_SESSION_H_
#define SYSLINK_EXAMPLES_FS_LOCK_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "examples/fs/fs.pb.h"
#include "examples/fs/fs.syslink.h"
#include "rpc/channel.h"
#include "rpc/context.h"

namespace syslink::examples::fs {

class LockSession {
 public:
  // Opens the Locks stream on `channel` and starts the thread that reads its answers.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LockSession>> Open(
      std::shared_ptr<rpc::Channel> channel);
  // Ends the stream (the server drops the session's locks and waits); requests still
  // waiting get ENOTCONN. Joins the reader thread.
  ~LockSession();
  LockSession(const LockSession&) = delete;
  LockSession& operator=(const LockSession&) = delete;

  // --- Asynchronous: the requests of fs.proto as they are. ---
  using Done = std::function<void(const LockResponse&)>;
  // A request id for Start(), unique in this process. Cancel() of it before Start() makes
  // the request end with EINTR unsent.
  uint64_t Reserve();
  // Sends `request` under `id` (from Reserve()); `done` gets its answer once.
  void Start(uint64_t id, LockRequest request, Done done);
  // Stops the wait of request `id`: it is answered EINTR unless granted first. Nothing
  // when there is no such request.
  void Cancel(uint64_t id);
  // Whether the stream has ended (nothing more can be locked through it).
  bool ended() const;

  // --- Synchronous. `pid` is reported to others by Test(); 0: this process's. ---
  // F_GETLK: the first conflicting lock of another owner (type LOCK_UNLOCK when none).
  [[nodiscard]] absl::StatusOr<LockResponse> Test(uint64_t ino, uint64_t fh, uint64_t owner,
                                                  LockType type, uint64_t start, uint64_t end);
  // F_SETLK / F_SETLKW (`wait`); LOCK_UNLOCK unlocks.
  [[nodiscard]] absl::Status Lock(uint64_t ino, uint64_t fh, uint64_t owner, LockType type,
                                  uint64_t start, uint64_t end, bool wait, uint32_t pid = 0);
  // flock(2) on handle `fh`: LOCK_SHARED, LOCK_EXCLUSIVE, LOCK_UNLOCK; `wait` unless LOCK_NB.
  [[nodiscard]] absl::Status Flock(uint64_t ino, uint64_t fh, LockType type, bool wait);
  // Drops the POSIX locks of `owner` on `ino`, as a close(2) of any descriptor of it does.
  [[nodiscard]] absl::Status ReleaseOwner(uint64_t ino, uint64_t fh, uint64_t owner);

 private:
  explicit LockSession(std::shared_ptr<rpc::Channel> channel);
  // Sends `request` and waits for its answer.
  absl::StatusOr<LockResponse> Call(LockRequest request);
  void Send(const LockRequest& request);
  void ReadAnswers();

  const std::shared_ptr<rpc::Channel> channel_;
  rpc::ClientContext context_;
  std::unique_ptr<rpc::ClientReaderWriter<LockRequest, LockResponse>> stream_;
  absl::Mutex write_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);  // one writer at a time on the stream
  mutable absl::Mutex mutex_;
  struct Pending {
    Done done;               // empty while only reserved
    bool cancelled = false;  // Cancel() came before Start()
  };
  absl::flat_hash_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mutex_);
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mutex_);  // the stream's, once ended
  std::thread reader_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_LOCK_SESSION_H_
