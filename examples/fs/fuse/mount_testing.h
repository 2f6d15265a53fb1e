// Support for the mount tests: a syslinkd of the test's own, a real memfs, and a real
// fs_mount of it at a fresh directory; real tools run against the mount; and teardown that
// always unmounts.
//
//   if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
//   absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::Start();
//   ToolRun cp = RunTool({"cp", local, (*fs)->Path("copy")});
//   EXPECT_EQ(cp.how, ChildProcess::Exited(0)) << cp.err;
//
// Bounded waits: every tool gives up (SIGKILL) after its timeout, and a MountedMemfs kills
// its fs_mount with SIGKILL once its watchdog time has passed, which aborts the FUSE
// connection so that a system call stuck on the mount returns (ENOTCONN) instead of hanging
// the test. Teardown stops fs_mount, then unmounts whatever is still mounted (umount -l, or
// fusermount3 -u -z without root), so no test leaves a mount behind, failed or not.
//
// A test killed before its teardown (a timeout) still leaves no mount: its memfs and
// fs_mount get SIGTERM when the thread that started them ends, and fs_mount unmounts.
//
// Thread safety: one thread at a time (the watchdog only kills); start a MountedMemfs (and
// StartMemfs) on a thread that outlives it. Ownership: MountedMemfs
// owns its processes and directories.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_MOUNT_TESTING_H_
#define SYSLINK_EXAMPLES_FS_FUSE_MOUNT_TESTING_H_

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/child_process.h"

namespace syslink::examples::fs {

// Why this machine cannot mount FUSE filesystems ("" when it can): /dev/fuse missing or
// unusable, or mounting not permitted (neither CAP_SYS_ADMIN nor fusermount3).
std::string MountUnavailableReason();

// A binary of this repository in the test's runfiles ("examples/fs/memfs").
std::string RunfilesPath(const std::string& relative);

// Whether `path` is a mount point now (/proc/self/mountinfo).
bool IsMounted(const std::string& path);
// Detaches whatever is mounted at `path` (umount2 MNT_DETACH; fusermount3 -u -z when not
// root). Returns whether nothing is mounted there afterwards.
bool ForceUnmount(const std::string& path);

// Runs `argv` (argv[0] a path): a FUSE server that mounts at `mountpoint` in the
// foreground and unmounts on SIGTERM, with its stderr appended to `log`. Returns once
// `mountpoint` is mounted; an error, with the log, if the server ended first or 20 s passed.
// The server gets SIGTERM when the calling thread ends; a ChildProcess destroyed while it
// runs kills it with SIGKILL, which leaves the mount for ForceUnmount.
[[nodiscard]] absl::StatusOr<syslink::testing::ChildProcess> StartMountDaemon(
    std::vector<std::string> argv, const std::string& mountpoint, const std::string& log);

// Runs `argv` (argv[0] a path) in a child with its stderr appended to `log`, no descriptor
// of ours but stdio, and SIGTERM when the calling thread ends (PR_SET_PDEATHSIG). A
// ChildProcess destroyed while it runs kills it with SIGKILL.
syslink::testing::ChildProcess StartDaemon(std::vector<std::string> argv, const std::string& log);

struct ToolRun {
  std::string how;  // ChildProcess's words: "exited 0", "killed by signal 9"
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] looked up in PATH) to its end, stdout and stderr captured; kills it
// after `timeout` and says so in `how`.
ToolRun RunTool(const std::vector<std::string>& argv, absl::Duration timeout = absl::Seconds(60));
// Runs `command` with /bin/sh -c.
ToolRun RunShell(const std::string& command, absl::Duration timeout = absl::Seconds(60));
// RunTool(), expecting the tool to exit 0: otherwise the test fails, naming the tool and
// quoting its stderr.
ToolRun RunToolOk(const std::vector<std::string>& argv);

// Writes `size` pseudo-random bytes, the same for the same `seed`, to `path`.
void WriteRandomFile(const std::string& path, size_t size, unsigned seed);

// The server behind a mount, for tests run against each (TEST_P).
enum class Server { kMemfs, kPassthrough };

// "Memfs" or "Passthrough", the suffix of a TEST_P case's name.
std::string ServerName(const ::testing::TestParamInfo<Server>& info);

class MountedMemfs {
 public:
  // Starts syslinkd, memfs (64 MiB unless `memfs_args` say otherwise) and
  // `fs_mount --foreground mount_args... MOUNTPOINT`, and waits until the mount is up.
  // `watchdog`: when to kill fs_mount regardless (see above).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MountedMemfs>> Start(
      std::vector<std::string> mount_args = {}, std::vector<std::string> memfs_args = {},
      absl::Duration watchdog = absl::Seconds(90));
  // The same with the passthrough server instead of memfs, serving host directory `dir`
  // (`server_args` after it).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MountedMemfs>> StartPassthrough(
      const std::string& dir, std::vector<std::string> mount_args = {},
      std::vector<std::string> server_args = {}, absl::Duration watchdog = absl::Seconds(90));
  // Start() for kMemfs; for kPassthrough, StartPassthrough() of a new directory "served"
  // (mode 0755) in `scratch`.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MountedMemfs>> StartServer(
      Server server, const std::string& scratch);
  // The same, with memfs behind a syslink-gateway (listening on a Unix socket in scratch())
  // and fs_mount reaching it over gRPC (--grpc) instead of through the broker.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MountedMemfs>> StartThroughGateway(
      std::vector<std::string> mount_args = {}, std::vector<std::string> memfs_args = {},
      absl::Duration watchdog = absl::Seconds(90));
  MountedMemfs(const MountedMemfs&) = delete;
  MountedMemfs& operator=(const MountedMemfs&) = delete;
  ~MountedMemfs();

  const std::string& mountpoint() const { return mountpoint_; }
  // `relative` inside the mount.
  std::string Path(const std::string& relative) const { return mountpoint_ + "/" + relative; }
  // A private directory outside the mount, for local files.
  const std::string& scratch() const { return scratch_.path(); }
  static constexpr char kServiceName[] = "test.examples.fs.fuse";

  // The gateway's gRPC target (StartThroughGateway), "" otherwise.
  const std::string& grpc_target() const { return grpc_target_; }

  // kill -9 of memfs, reaped.
  std::string KillMemfs();
  // Starts memfs again (a new, empty filesystem) and waits until it has registered.
  [[nodiscard]] absl::Status StartMemfs();
  // SIGTERM to fs_mount; how it ended (waiting at most 20 s).
  std::string StopMount();
  pid_t mount_pid() const { return mount_->pid(); }
  // What fs_mount wrote on stderr; what the server (memfs or passthrough) did.
  std::string MountLog() const;
  std::string ServerLog() const;

 private:
  MountedMemfs() : scratch_("fuse") {}
  static absl::StatusOr<std::unique_ptr<MountedMemfs>> StartWith(
      std::vector<std::string> mount_args, std::vector<std::string> memfs_args,
      absl::Duration watchdog, bool through_gateway,
      const std::string& server_binary = "examples/fs/memfs");
  absl::Status StartGateway();
  absl::Status StartMount(const std::vector<std::string>& mount_args);

  syslink::testing::ScratchDirectory scratch_;
  std::string mountpoint_parent_;  // from mkdtemp; holds only the mount point
  std::string mountpoint_;
  std::string server_binary_ = "examples/fs/memfs";  // in the runfiles
  std::vector<std::string> memfs_args_;
  std::unique_ptr<syslink::testing::BrokerProcess> broker_;
  std::optional<syslink::testing::ChildProcess> memfs_;
  std::optional<syslink::testing::ChildProcess> gateway_;
  std::string grpc_target_;
  std::optional<syslink::testing::ChildProcess> mount_;
  bool mount_reaped_ = false;
  std::mutex watchdog_mutex_;
  std::condition_variable watchdog_wake_;
  bool done_ = false;
  std::thread watchdog_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_MOUNT_TESTING_H_
