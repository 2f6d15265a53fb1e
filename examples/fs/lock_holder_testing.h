// For the lock tests of real processes: a lock_holder process (lock_holder_main.cc) that
// holds a lock of a server's file, and the check that its kill -9 hands the lock to a
// client waiting for it.
//
//   absl::StatusOr<ChildProcess> holder = StartLockHolder(binary, service, "/f", "posix");
//   ExpectKillHandsTheLockOn(client, *holder, "/f", "posix");
//
// Thread safety: one thread at a time. Errors: gtest failures.

#ifndef SYSLINK_EXAMPLES_FS_LOCK_HOLDER_TESTING_H_
#define SYSLINK_EXAMPLES_FS_LOCK_HOLDER_TESTING_H_

#include <string>

#include "absl/status/statusor.h"
#include "examples/fs/fs_client.h"
#include "tests/support/child_process.h"

namespace syslink::examples::fs {

// Runs `binary` (lock_holder) against `service` and returns once it holds an exclusive
// lock of `path` (`kind`: "posix" or "flock"); an error with its words if it ended first.
[[nodiscard]] absl::StatusOr<syslink::testing::ChildProcess> StartLockHolder(
    const std::string& binary, const std::string& service, const std::string& path,
    const std::string& kind);

// Through `client`: the lock of `kind` on `path` conflicts (EAGAIN); a wait for it is
// registered with the server; kill -9 of `holder` ends the wait with the lock granted.
void ExpectKillHandsTheLockOn(FsClient& client, syslink::testing::ChildProcess& holder,
                              const std::string& path, const std::string& kind);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_LOCK_HOLDER_TESTING_H_
