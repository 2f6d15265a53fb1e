#include "examples/fs/fuse/mount_testing.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rpc/connect.h"
#include "tests/support/eventually.h"
#include "tests/support/registered_service.h"

extern char** environ;

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectWhenRegistered;
using ::syslink::testing::Eventually;

bool HasCapSysAdmin() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (caps >> 21) & 1;  // CAP_SYS_ADMIN
  }
  return false;
}

bool OnPath(const char* tool) {
  for (absl::string_view dir : absl::StrSplit(getenv("PATH") ? getenv("PATH") : "", ':')) {
    if (access(absl::StrCat(dir, "/", tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs `argv` in a child (execv, no descriptor of ours but stdio, stderr into `log`). The
// child gets SIGTERM when the thread that spawned it ends (PR_SET_PDEATHSIG).
ChildProcess SpawnDaemon(std::vector<std::string> argv, const std::string& log) {
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  // A test killed before its teardown (a timeout) still stops its daemons: fs_mount
  // unmounts on SIGTERM, so no mount outlives the test. No copy of a link end stays in the
  // child (it would hide the link's closing).
  ChildProcess child =
      ChildProcess::Exec(std::move(argv), {.stderr_fd = fd, .parent_death_signal = SIGTERM});
  if (fd >= 0) close(fd);
  return child;
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  off_t at = 0;
  for (ssize_t n; (n = pread(fd, buffer, sizeof(buffer), at)) > 0; at += n) text.append(buffer, n);
  return text;
}

std::string FileText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Whether `pid` (a child of ours) has ended, without reaping it.
bool HasEnded(pid_t pid) {
  siginfo_t info{};
  return waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

}  // namespace

ChildProcess StartDaemon(std::vector<std::string> argv, const std::string& log) {
  return SpawnDaemon(std::move(argv), log);
}

std::string MountUnavailableReason() {
  const int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno != EACCES && errno != EPERM) {
    return absl::StrCat("/dev/fuse cannot be opened (", std::strerror(errno),
                        "): this machine has no FUSE device, so nothing can be mounted");
  }
  if (fd >= 0) close(fd);
  if (geteuid() == 0 && HasCapSysAdmin()) return "";
  if (OnPath("fusermount3")) return "";
  return "mounting is not permitted here: not root with CAP_SYS_ADMIN, and no fusermount3";
}

std::string RunfilesPath(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access(relative.c_str(), X_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", relative);
  }
  char resolved[PATH_MAX];
  return realpath(relative.c_str(), resolved) != nullptr ? resolved : relative;
}

bool IsMounted(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && fields[4] == path) return true;
  }
  return false;
}

bool ForceUnmount(const std::string& path) {
  if (!IsMounted(path)) return true;
  if (umount2(path.c_str(), MNT_DETACH) != 0) {
    (void)RunTool({"fusermount3", "-u", "-z", path}, absl::Seconds(20));
  }
  return !IsMounted(path);
}

ToolRun RunTool(const std::vector<std::string>& argv, absl::Duration timeout) {
  ToolRun run;
  const int out = memfd_create("tool-stdout", MFD_CLOEXEC);
  const int err = memfd_create("tool-stderr", MFD_CLOEXEC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (std::string& arg : copy) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    run.how = absl::StrCat("not started: ", std::strerror(spawned));
  } else {
    int status = 0;
    pid_t done = 0;
    Eventually([&] { return (done = waitpid(pid, &status, WNOHANG)) != 0; }, timeout,
               absl::Milliseconds(2));
    if (done == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      run.how = absl::StrCat("timed out after ", absl::FormatDuration(timeout), " and killed");
    } else if (WIFEXITED(status)) {
      run.how = ChildProcess::Exited(WEXITSTATUS(status));
    } else {
      run.how = ChildProcess::KilledBy(WTERMSIG(status));
    }
  }
  run.out = ReadAll(out);
  run.err = ReadAll(err);
  close(out);
  close(err);
  return run;
}

ToolRun RunShell(const std::string& command, absl::Duration timeout) {
  return RunTool({"/bin/sh", "-c", command}, timeout);
}

ToolRun RunToolOk(const std::vector<std::string>& argv) {
  ToolRun run = RunTool(argv);
  EXPECT_EQ(run.how, ChildProcess::Exited(0)) << argv[0] << ": " << run.err;
  return run;
}

void WriteRandomFile(const std::string& path, size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  std::ofstream(path, std::ios::binary) << bytes;
}

absl::StatusOr<ChildProcess> StartMountDaemon(std::vector<std::string> argv,
                                              const std::string& mountpoint,
                                              const std::string& log) {
  ChildProcess daemon = SpawnDaemon(argv, log);
  Eventually([&] { return IsMounted(mountpoint) || HasEnded(daemon.pid()); }, absl::Seconds(20),
             absl::Milliseconds(5));
  if (!IsMounted(mountpoint)) {
    return absl::UnavailableError(absl::StrCat(argv[0], " did not mount ", mountpoint, ": ",
                                               absl::StrJoin(argv, " "), "\n", FileText(log)));
  }
  return daemon;
}

absl::StatusOr<std::unique_ptr<MountedMemfs>> MountedMemfs::Start(
    std::vector<std::string> mount_args, std::vector<std::string> memfs_args,
    absl::Duration watchdog) {
  return StartWith(std::move(mount_args), std::move(memfs_args), watchdog, false);
}

absl::StatusOr<std::unique_ptr<MountedMemfs>> MountedMemfs::StartThroughGateway(
    std::vector<std::string> mount_args, std::vector<std::string> memfs_args,
    absl::Duration watchdog) {
  return StartWith(std::move(mount_args), std::move(memfs_args), watchdog, true);
}

absl::StatusOr<std::unique_ptr<MountedMemfs>> MountedMemfs::StartPassthrough(
    const std::string& dir, std::vector<std::string> mount_args,
    std::vector<std::string> server_args, absl::Duration watchdog) {
  server_args.insert(server_args.begin(), dir);
  return StartWith(std::move(mount_args), std::move(server_args), watchdog, false,
                   "examples/fs/passthrough/passthrough");
}

std::string ServerName(const ::testing::TestParamInfo<Server>& info) {
  return info.param == Server::kMemfs ? "Memfs" : "Passthrough";
}

absl::StatusOr<std::unique_ptr<MountedMemfs>> MountedMemfs::StartServer(
    Server server, const std::string& scratch) {
  if (server == Server::kMemfs) return Start();
  const std::string served = scratch + "/served";
  if (mkdir(served.c_str(), 0755) != 0) {
    return absl::InternalError(absl::StrCat("mkdir ", served, ": ", std::strerror(errno)));
  }
  return StartPassthrough(served);
}

absl::StatusOr<std::unique_ptr<MountedMemfs>> MountedMemfs::StartWith(
    std::vector<std::string> mount_args, std::vector<std::string> memfs_args,
    absl::Duration watchdog, bool through_gateway, const std::string& server_binary) {
  std::unique_ptr<MountedMemfs> fs(new MountedMemfs());
  fs->server_binary_ = server_binary;
  fs->memfs_args_ = memfs_args.empty() ? std::vector<std::string>{"--size", "64M"} : memfs_args;
  char parent[] = "/tmp/sl-mnt-XXXXXX";
  if (mkdtemp(parent) == nullptr) return absl::InternalError("mkdtemp failed");
  fs->mountpoint_parent_ = parent;
  fs->mountpoint_ = fs->mountpoint_parent_ + "/mnt";
  if (mkdir(fs->mountpoint_.c_str(), 0755) != 0) return absl::InternalError("mkdir failed");
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
      BrokerProcess::Start(fs->scratch_.SocketPath());
  if (!broker.ok()) return broker.status();
  fs->broker_ = *std::move(broker);
  setenv("SYSLINK_BROKER_SOCKET", fs->scratch_.SocketPath().c_str(), 1);  // for the children
  if (absl::Status s = fs->StartMemfs(); !s.ok()) return s;
  if (through_gateway) {
    if (absl::Status s = fs->StartGateway(); !s.ok()) return s;
  }
  fs->watchdog_ = std::thread([raw = fs.get(), watchdog] {
    std::unique_lock<std::mutex> lock(raw->watchdog_mutex_);
    if (raw->watchdog_wake_.wait_for(lock, absl::ToChronoSeconds(watchdog),
                                     [raw] { return raw->done_; })) {
      return;
    }
    std::fprintf(stderr, "mount_testing: watchdog: killing fs_mount after %s\n",
                 absl::FormatDuration(watchdog).c_str());
    if (raw->mount_.has_value() && !raw->mount_reaped_) raw->mount_->Kill(SIGKILL);
  });
  if (absl::Status s = fs->StartMount(mount_args); !s.ok()) return s;
  return fs;
}

absl::Status MountedMemfs::StartGateway() {
  const std::string socket = scratch_.path() + "/gateway.sock";
  grpc_target_ = "unix:" + socket;
  gateway_.emplace(
      SpawnDaemon({RunfilesPath("rpc/grpc/gateway/syslink-gateway"), "--listen", grpc_target_,
                   "--expose", absl::StrCat("syslink.examples.fs.FileSystem=", kServiceName),
                   "--broker-socket", scratch_.SocketPath()},
                  scratch_.path() + "/gateway.log"));
  struct stat st;
  const auto listening = [&] { return stat(socket.c_str(), &st) == 0; };  // socket exists
  Eventually([&] { return listening() || HasEnded(gateway_->pid()); }, absl::Seconds(20),
             absl::Milliseconds(5));
  if (!listening()) {
    return absl::UnavailableError(absl::StrCat("syslink-gateway did not listen on ", socket, ": ",
                                               FileText(scratch_.path() + "/gateway.log")));
  }
  return absl::OkStatus();
}

absl::Status MountedMemfs::StartMount(const std::vector<std::string>& mount_args) {
  std::vector<std::string> argv = {RunfilesPath("examples/fs/fuse/fs_mount"),
                                   grpc_target_.empty() ? absl::StrCat("--name=", kServiceName)
                                                        : absl::StrCat("--grpc=", grpc_target_),
                                   "--foreground"};
  argv.insert(argv.end(), mount_args.begin(), mount_args.end());
  argv.push_back(mountpoint_);
  absl::StatusOr<ChildProcess> mount =
      StartMountDaemon(argv, mountpoint_, scratch_.path() + "/fs_mount.log");
  if (!mount.ok()) return mount.status();
  std::lock_guard<std::mutex> lock(watchdog_mutex_);
  mount_.emplace(*std::move(mount));
  return absl::OkStatus();
}

MountedMemfs::~MountedMemfs() {
  if (mount_.has_value()) (void)StopMount();
  {
    std::lock_guard<std::mutex> lock(watchdog_mutex_);
    done_ = true;
  }
  watchdog_wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  if (!mountpoint_.empty() && ForceUnmount(mountpoint_)) {
    rmdir(mountpoint_.c_str());
    rmdir(mountpoint_parent_.c_str());
  } else if (!mountpoint_.empty()) {
    std::fprintf(stderr, "mount_testing: %s is still mounted\n", mountpoint_.c_str());
  }
  gateway_.reset();  // SIGKILL if still running
  memfs_.reset();
  unsetenv("SYSLINK_BROKER_SOCKET");
}

std::string MountedMemfs::KillMemfs() {
  memfs_->Kill(SIGKILL);
  std::string how = memfs_->Wait();
  memfs_.reset();
  return how;
}

absl::Status MountedMemfs::StartMemfs() {
  std::vector<std::string> argv = {RunfilesPath(server_binary_), "--name", kServiceName};
  argv.insert(argv.end(), memfs_args_.begin(), memfs_args_.end());
  memfs_.emplace(SpawnDaemon(argv, scratch_.path() + "/memfs.log"));
  return ConnectWhenRegistered(kServiceName, broker_->ConnectOptions(), absl::Seconds(20)).status();
}

std::string MountedMemfs::StopMount() {
  std::lock_guard<std::mutex> lock(watchdog_mutex_);
  if (mount_reaped_) return "already stopped";
  mount_->Kill(SIGTERM);
  std::string how = mount_->WaitFor(absl::Seconds(20));
  mount_reaped_ = true;
  return how;
}

std::string MountedMemfs::MountLog() const { return FileText(scratch_.path() + "/fs_mount.log"); }

std::string MountedMemfs::ServerLog() const { return FileText(scratch_.path() + "/memfs.log"); }

}  // namespace syslink::examples::fs
