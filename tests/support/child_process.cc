#include "tests/support/child_process.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace syslink::testing {
namespace {

std::string Describe(int status) {
  if (WIFEXITED(status)) return ChildProcess::Exited(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return ChildProcess::KilledBy(WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

}  // namespace

ChildProcess ChildProcess::Fork(const std::function<int()>& body) {
  std::fflush(nullptr);  // so buffered output is not written twice
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::abort();
  }
  if (pid == 0) _exit(body());
  return ChildProcess(pid);
}

ChildProcess ChildProcess::Exec(std::vector<std::string> args, const ExecOptions& options) {
  // Everything the child needs is made before the fork: a child of a threaded parent must
  // not allocate.
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  return Fork([&] {
    if (options.parent_death_signal != 0 &&
        (prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0 || getppid() != parent)) {
      return 125;
    }
    const int standard[] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
    for (int target = 0; target < 3; ++target) {
      if (standard[target] >= 0 && dup2(standard[target], target) != target) return 126;
    }
    close_range(3, ~0U, 0);
    if (options.before_exec) {
      if (int code = options.before_exec(); code != 0) return code;
    }
    execv(argv[0], argv.data());
    std::perror(argv[0]);
    return 127;
  });
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), reaped_(other.reaped_) {
  other.reaped_ = true;
}

ChildProcess::~ChildProcess() {
  if (reaped_) return;
  Kill(SIGKILL);
  Wait();
}

void ChildProcess::Kill(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

std::string ChildProcess::Wait() {
  if (reaped_) return "already reaped";
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return absl::StrCat("waitpid failed: errno ", errno);
  }
  reaped_ = true;
  return Describe(status);
}

std::string ChildProcess::WaitFor(absl::Duration timeout) {
  if (reaped_) return "already reaped";
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      return Describe(status);
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  Kill(SIGKILL);
  return absl::StrCat("still running after ", absl::FormatDuration(timeout), " (killed: ", Wait(),
                      ")");
}

std::string ChildProcess::Exited(int code) { return absl::StrCat("exited ", code); }

std::string ChildProcess::KilledBy(int signal) { return absl::StrCat("killed by signal ", signal); }

bool PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

}  // namespace syslink::testing
