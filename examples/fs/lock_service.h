// ServeLockSession: one client's lock session (fs.proto's Locks stream) against a server's
// LockTable. memfs and the passthrough answer their Locks rpc with it.
//
//   absl::Status MemFs::Locks(Context& context, LockStream* stream) {
//     return ServeLockSession(stream, locks_,
//                             [&](uint64_t ino, uint64_t fh, uint32_t* flags, LockFile* file) {
//                               *file = {0, ino};
//                               return tree_.HandleFlags(ino, fh, flags);
//                             });
//   }
//
// Threads. The stream's method runs on a thread of its own (rpc/stream.h), whatever the
// server's workers: it reads the session's requests and answers those that do not wait.
// A second thread writes the answers, so that a wait granted by another session's unlock
// (on that session's thread, or on a thread serving Release) only queues its answer and
// never waits for this client. Neither thread ever waits for a lock: a waiting request is
// a record in the table, answered when granted, cancelled (LOCK_CANCEL) or dropped with
// its session. No thread serving the server's links waits either, so a client whose
// unlock comes through the same link as another's wait (fs_mount) never deadlocks.
//
// Ending. When the client ends the stream (WritesDone, a cancel, its link closing, its
// process dying) the session's locks and waits are dropped (LockTable::CloseSession) and
// the method returns OK. The reader stops taking requests while kMaxQueuedAnswers answers
// are queued for a client that does not read them, so memory stays bounded. Such a client
// keeps the writer waiting in Write() (and the method from returning) until it reads,
// cancels or goes; a session it half-closed has its locks dropped before that wait.
//
// Errors: each request's errno in its answer (fs.proto lists them); the RPC status is OK.
// Thread safety: call from the stream's method; the table is shared with other sessions.

#ifndef SYSLINK_EXAMPLES_FS_LOCK_SERVICE_H_
#define SYSLINK_EXAMPLES_FS_LOCK_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "examples/fs/fs.pb.h"
#include "examples/fs/lock_table.h"
#include "rpc/stream.h"

namespace syslink::examples::fs {

using LockStream = rpc::ServerReaderWriter<LockResponse, LockRequest>;

// The open(2) flags of file handle `fh` of `ino` into `*flags`, and the file it is open on
// into `*file` (LockTable's name for it): 0, or EBADF when there is no such handle (or it
// is a directory's).
using HandleLookup = std::function<int(uint64_t ino, uint64_t fh, uint32_t* flags, LockFile* file)>;

inline constexpr size_t kMaxQueuedAnswers = 256;

// Serves the session until it ends; see above.
absl::Status ServeLockSession(LockStream* stream, LockTable& table, const HandleLookup& lookup);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_LOCK_SERVICE_H_
