#include "tests/support/broker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "syslink/broker/embedded_broker.h"

namespace syslink::testing {
namespace {

// Whether /proc says `pid` is gone: no such process, or a zombie.
bool IsGone(pid_t pid) {
  char state = ProcessState(pid);
  return state == '?' || state == 'Z' || state == 'X';
}

}  // namespace

ScratchDirectory::ScratchDirectory(absl::string_view tag, mode_t mode) {
  static int count = 0;
  path_ = absl::StrCat("/tmp/sl-", tag, "-", getpid(), "-", count++);
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);  // left by an earlier run with this pid
  if (mkdir(path_.c_str(), mode) != 0 || chmod(path_.c_str(), mode) != 0) {
    std::perror(path_.c_str());
    std::abort();
  }
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

AutoStartedBrokers::~AutoStartedBrokers() {
  for (pid_t pid : EmbeddedBrokersFor(socket_path_)) {
    ::kill(pid, SIGKILL);
    WaitUntilGone(pid, absl::Seconds(10));
  }
}

std::string RunfilePath(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (access(path.c_str(), X_OK) != 0 && srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", path);
  }
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

std::string SyslinkdPath() { return RunfilePath("syslink/broker/syslinkd"); }

SyslinkctlOutput RunSyslinkctl(const std::string& socket_path, const std::vector<std::string>& args,
                               absl::Duration timeout) {
  std::vector<std::string> command = {RunfilePath("syslink/broker/syslinkctl"), "--socket",
                                      socket_path};
  command.insert(command.end(), args.begin(), args.end());
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {"", "pipe2 failed"};
  UniqueFd read_end(out[0]), write_end(out[1]);
  ChildProcess syslinkctl = ChildProcess::Exec(std::move(command), {.stdout_fd = write_end.get()});
  write_end.Reset();
  std::string printed;
  char buffer[65536];
  for (ssize_t n; (n = read(read_end.get(), buffer, sizeof(buffer))) > 0;) {
    printed.append(buffer, static_cast<size_t>(n));
  }
  return {std::move(printed), syslinkctl.WaitFor(timeout)};
}

absl::StatusOr<std::unique_ptr<BrokerProcess>> BrokerProcess::Start(
    const std::string& socket_path, const std::vector<std::string>& extra_args,
    absl::Duration timeout, uint64_t descriptor_limit) {
  std::vector<std::string> args = {SyslinkdPath(), "--socket", socket_path};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // A test killed before its teardown (a timeout) leaves no broker behind, and nothing of
  // the test's stays open in the broker.
  ChildProcess child = ChildProcess::Exec(
      std::move(args),
      {.parent_death_signal = SIGKILL, .before_exec = [descriptor_limit] {
         struct rlimit limit = {descriptor_limit, descriptor_limit};
         return descriptor_limit == 0 || setrlimit(RLIMIT_NOFILE, &limit) == 0 ? 0 : 126;
       }});
  std::unique_ptr<BrokerProcess> broker(new BrokerProcess(std::move(child), socket_path));
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (IsGone(broker->pid())) {
      return absl::UnavailableError(
          absl::StrCat("syslinkd for ", socket_path, " ", broker->process_->Wait(), " at start"));
    }
    absl::StatusOr<broker::Listing> listing = ListBrokerAt(socket_path, absl::Milliseconds(100));
    if (listing.ok()) {
      if (listing->broker_pid != broker->pid()) {
        return absl::FailedPreconditionError(
            absl::StrCat("pid ", listing->broker_pid, " answers at ", socket_path,
                         ", not the syslinkd started (pid ", broker->pid(), ")"));
      }
      return broker;
    }
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("syslinkd did not answer at ", socket_path,
                                                 " within ", absl::FormatDuration(timeout), ": ",
                                                 listing.status().ToString()));
    }
  }
}

broker::BrokerConnectOptions BrokerProcess::ConnectOptions(absl::Duration timeout) const {
  return {.socket_path = socket_path_, .start_broker = false, .timeout = timeout};
}

void BrokerProcess::Kill() {
  process_->Kill(SIGKILL);
  process_->Wait();
}

std::string BrokerProcess::Stop() {
  process_->Kill(SIGTERM);
  return process_->WaitFor(absl::Seconds(10));
}

std::string BrokerProcess::WaitForExit(absl::Duration timeout) {
  return process_->WaitFor(timeout);
}

absl::StatusOr<broker::Listing> ListBrokerAt(const std::string& socket_path,
                                             absl::Duration timeout) {
  return broker::ListBroker(
      {.socket_path = socket_path, .start_broker = false, .timeout = timeout});
}

ConnectedPair ConnectAndAccept(broker::ServiceRegistration& service, const std::string& name,
                               const broker::BrokerConnectOptions& options,
                               absl::Duration timeout) {
  std::future<absl::StatusOr<broker::OutgoingLink>> client = std::async(
      std::launch::async, [&] { return broker::ConnectToServiceIdentified(name, options); });
  absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<broker::IncomingLink> server =
      absl::DeadlineExceededError("no link arrived: the connect did not succeed");
  // Accept while the client waits for its verdict; once it has its end, the server's end
  // is on its way (the broker sends it first).
  std::optional<absl::StatusOr<broker::OutgoingLink>> result;
  while (absl::Now() < deadline) {
    if (!result && client.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      result = client.get();
    }
    if (result && !result->ok()) break;
    absl::Time slice = result ? deadline : absl::Now() + absl::Milliseconds(20);
    server = service.Accept(std::min(slice, deadline));
    if (server.ok() || !absl::IsDeadlineExceeded(server.status()) || result) break;
  }
  if (!result) result = client.get();
  if (!result->ok() && !server.ok()) {
    server = absl::DeadlineExceededError(
        absl::StrCat("no link arrived: the connect failed with ", result->status().ToString()));
  }
  return {*std::move(result), std::move(server)};
}

UniqueFd DialRaw(const std::string& socket_path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return UniqueFd();
  }
  return fd;
}

bool SendRaw(int socket, std::span<const std::byte> bytes, std::span<const int> fds) {
  struct iovec iov = {const_cast<std::byte*>(bytes.data()), bytes.size()};
  struct msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  std::vector<cmsghdr> control((CMSG_SPACE(fds.size() * sizeof(int)) + sizeof(cmsghdr) - 1) /
                               sizeof(cmsghdr));
  if (!fds.empty()) {
    message.msg_control = control.data();
    message.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), fds.data(), fds.size() * sizeof(int));
  }
  return sendmsg(socket, &message, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

std::vector<std::byte> ControlBytes(uint16_t type, uint32_t sequence,
                                    std::span<const std::byte> body, uint32_t stated_length) {
  broker::ControlHeader header{broker::kControlMagic, broker::kControlVersion, type, sequence,
                               stated_length};
  std::vector<std::byte> bytes(sizeof(header) + body.size());
  std::memcpy(bytes.data(), &header, sizeof(header));
  if (!body.empty()) std::memcpy(bytes.data() + sizeof(header), body.data(), body.size());
  return bytes;
}

std::vector<std::byte> ControlBytes(broker::ControlType type, uint32_t sequence,
                                    std::span<const std::byte> body) {
  return ControlBytes(static_cast<uint16_t>(type), sequence, body,
                      static_cast<uint32_t>(body.size()));
}

std::vector<pid_t> PidsHoldingOpen(const std::string& path) {
  std::vector<pid_t> pids;
  std::error_code error;
  for (auto proc = std::filesystem::directory_iterator("/proc", error);
       !error && proc != std::filesystem::directory_iterator(); proc.increment(error)) {
    int pid;
    if (!absl::SimpleAtoi(proc->path().filename().string(), &pid)) continue;
    std::error_code fd_error;
    for (auto fd = std::filesystem::directory_iterator(proc->path() / "fd", fd_error);
         !fd_error && fd != std::filesystem::directory_iterator(); fd.increment(fd_error)) {
      std::error_code link_error;
      std::filesystem::path target = std::filesystem::read_symlink(fd->path(), link_error);
      if (!link_error && target == path) {
        pids.push_back(pid);
        break;
      }
    }
  }
  return pids;
}

std::vector<pid_t> EmbeddedBrokersFor(const std::string& socket_path) {
  const std::string entry = absl::StrCat(broker::kEmbeddedBrokerEnv, "=", socket_path);
  std::vector<pid_t> pids;
  std::error_code error;
  for (auto proc = std::filesystem::directory_iterator("/proc", error);
       !error && proc != std::filesystem::directory_iterator(); proc.increment(error)) {
    int pid;
    if (!absl::SimpleAtoi(proc->path().filename().string(), &pid)) continue;
    std::ifstream environ(proc->path() / "environ", std::ios::binary);
    std::string variable;
    while (std::getline(environ, variable, '\0')) {
      if (variable == entry) {
        pids.push_back(pid);
        break;
      }
    }
  }
  return pids;
}

namespace {

// The KiB a /proc/<pid>/status line starting with `field` (e.g. "VmRSS:") gives, or -1.
int64_t StatusKiB(pid_t pid, absl::string_view field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, field)) continue;
    std::vector<std::string> fields =
        absl::StrSplit(line.substr(field.size()), ' ', absl::SkipWhitespace());
    int64_t kib;
    if (!fields.empty() && absl::SimpleAtoi(fields[0], &kib)) return kib;
  }
  return -1;
}

}  // namespace

int64_t ResidentKiB(pid_t pid) { return StatusKiB(pid, "VmRSS:"); }

int64_t PeakResidentKiB(pid_t pid) { return StatusKiB(pid, "VmHWM:"); }

bool WaitUntilStopped(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (ProcessState(pid) != 'T') {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

bool WaitUntilGone(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!IsGone(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

void SharedStatus::Set(const absl::Status& status) {
  std::string message(status.message());
  std::strncpy(message_, message.c_str(), sizeof(message_) - 1);
  code_.store(static_cast<int>(status.code()));
}

absl::Status SharedStatus::Get() const {
  int code = code_.load();
  if (code == -1) return absl::UnknownError("not reported");
  return absl::Status(static_cast<absl::StatusCode>(code), message_);
}

}  // namespace syslink::testing
