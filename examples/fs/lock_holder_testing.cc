#include "examples/fs/lock_holder_testing.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "examples/fs/lock_session.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {

using ::syslink::testing::ChildProcess;

absl::StatusOr<ChildProcess> StartLockHolder(const std::string& binary, const std::string& service,
                                             const std::string& path, const std::string& kind) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  std::vector<std::string> args = {binary, service, path, kind};
  ChildProcess child = ChildProcess::Exec(std::move(args), {.stdout_fd = fds[1]});
  close(fds[1]);
  std::string said;
  char chunk[64];
  // Blocks until the holder speaks or ends (its end closes the pipe).
  for (ssize_t n;
       said.find('\n') == std::string::npos && (n = read(fds[0], chunk, sizeof(chunk))) > 0;) {
    said.append(chunk, n);
  }
  close(fds[0]);
  if (said != "locked\n") {
    return absl::InternalError(absl::StrCat("lock_holder said \"", said, "\" and ", child.Wait()));
  }
  return child;
}

void ExpectKillHandsTheLockOn(FsClient& client, ChildProcess& holder, const std::string& path,
                              const std::string& kind) {
  absl::StatusOr<LookupRef> file = client.Resolve(path);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<uint64_t> fh = client.Open(file->ino(), O_RDWR);
  ASSERT_TRUE(fh.ok()) << fh.status();
  absl::StatusOr<std::unique_ptr<LockSession>> locks = LockSession::Open(client.shared_channel());
  ASSERT_TRUE(locks.ok()) << locks.status();
  LockSession& session = **locks;
  const bool flock = kind == "flock";
  LockRequest request;
  request.set_op(flock ? LOCK_FLOCK : LOCK_SET);
  request.set_ino(file->ino());
  request.set_fh(*fh);
  request.set_owner(1);
  request.set_type(LOCK_EXCLUSIVE);
  request.set_end(kLockEof);
  auto lock_now = [&] {
    return flock ? session.Flock(file->ino(), *fh, LOCK_EXCLUSIVE, /*wait=*/false)
                 : session.Lock(file->ino(), *fh, 1, LOCK_EXCLUSIVE, 0, kLockEof, false);
  };
  EXPECT_EQ(ErrnoOf(lock_now()), EAGAIN);
  if (!flock) {
    absl::StatusOr<LockResponse> report =
        session.Test(file->ino(), *fh, 1, LOCK_EXCLUSIVE, 0, kLockEof);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->pid(), static_cast<uint32_t>(holder.pid()));
  }
  absl::Notification granted;
  int error = -1;
  request.set_wait(true);
  session.Start(session.Reserve(), request, [&](const LockResponse& response) {
    error = response.error();
    granted.Notify();
  });
  // The server takes a session's requests in order: once a later one is answered, the
  // wait is registered.
  EXPECT_EQ(ErrnoOf(session.Test(file->ino(), *fh, 2, LOCK_SHARED, 0, 0).status()), 0);
  EXPECT_FALSE(granted.HasBeenNotified());
  holder.Kill(SIGKILL);
  EXPECT_EQ(holder.Wait(), ChildProcess::KilledBy(SIGKILL));
  EXPECT_TRUE(granted.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(error, 0);
  EXPECT_EQ(ErrnoOf(lock_now()), 0);  // held already: its own owner converts
}

}  // namespace syslink::examples::fs
