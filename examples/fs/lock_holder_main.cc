// lock_holder: a direct client of a file service that takes a lock and holds it until it
// is killed. The lock tests' other process (memfs_process_test, passthrough_process_test,
// fuse/fs_mount_lock_test): kill -9 of it must release the lock.
//
//   lock_holder SERVICE PATH posix|flock
//
// Connects through the broker ($SYSLINK_BROKER_SOCKET), opens PATH read-write, takes an
// exclusive lock of the whole file (a POSIX lock of owner 1, or flock), prints "locked" on
// stdout and waits for a signal. Exits 1 (with the reason on stderr) when it cannot.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "examples/fs/fs_client.h"
#include "examples/fs/lock_session.h"
#include "rpc/connect.h"

namespace syslink::examples::fs {
namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "lock_holder: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

int Run(const std::string& service, const std::string& path, bool flock) {
  absl::StatusOr<std::shared_ptr<rpc::Channel>> channel = rpc::ConnectChannel(service);
  if (!channel.ok()) return Fail("connect", channel.status());
  FsClient fs(*channel);
  absl::StatusOr<LookupRef> file = fs.Resolve(path);
  if (!file.ok()) return Fail(path, file.status());
  absl::StatusOr<uint64_t> fh = fs.Open(file->ino(), O_RDWR);
  if (!fh.ok()) return Fail("open", fh.status());
  absl::StatusOr<std::unique_ptr<LockSession>> locks = LockSession::Open(*channel);
  if (!locks.ok()) return Fail("lock session", locks.status());
  absl::Status locked =
      flock ? (*locks)->Flock(file->ino(), *fh, LOCK_EXCLUSIVE, /*wait=*/false)
            : (*locks)->Lock(file->ino(), *fh, 1, LOCK_EXCLUSIVE, 0, kLockEof, /*wait=*/false);
  if (!locked.ok()) return Fail("lock", locked);
  std::printf("locked\n");
  std::fflush(stdout);
  for (;;) pause();
}

}  // namespace
}  // namespace syslink::examples::fs

int main(int argc, char** argv) {
  if (argc != 4 || (std::strcmp(argv[3], "posix") != 0 && std::strcmp(argv[3], "flock") != 0)) {
    std::fprintf(stderr, "usage: lock_holder SERVICE PATH posix|flock\n");
    return 2;
  }
  return syslink::examples::fs::Run(argv[1], argv[2], std::strcmp(argv[3], "flock") == 0);
}
