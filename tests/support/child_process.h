// ChildProcess: a forked child running a function, for multi-process tests and benchmarks.
//
//   ChildProcess child = ChildProcess::Fork([&] { return RunConsumer(fd) ? 0 : 1; });
//   ...
//   EXPECT_EQ(child.Wait(), ChildProcess::Exited(0));
//
//   ChildProcess server = ChildProcess::Exec({path, "--name", name}, {.stderr_fd = log});
//
// The child runs `body` and leaves with _exit(body()), so it never runs the parent's
// destructors, atexit handlers or test framework. Anything the child must report goes
// through its exit code, shared memory or a descriptor.
//
// Thread safety: one thread at a time. Fork only from a process with no other threads
// holding locks the child needs (the body should use only what it sets up itself).
// Ownership: a child not yet waited for is killed with SIGKILL and reaped when the
// ChildProcess is destroyed, so a failing test leaves no stray processes behind.

#ifndef SYSLINK_TESTS_SUPPORT_CHILD_PROCESS_H_
#define SYSLINK_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace syslink::testing {

// How ChildProcess::Exec sets up the program's process.
struct ExecOptions {
  // Descriptors of the parent's that become the child's standard input, output and error
  // (-1: the parent's own). The parent keeps its copies.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Sent to the child when the thread that started it ends (PR_SET_PDEATHSIG), so that a
  // test killed before its teardown leaves nothing running; 0: none. A child whose parent
  // is gone before that is set exits 125 at once.
  int parent_death_signal = 0;
  // Runs in the child just before the exec (setenv, setrlimit, ...); a nonzero result is the
  // child's exit code, and the program is not run.
  std::function<int()> before_exec;
};

class ChildProcess {
 public:
  // Forks; the child runs `body` and exits with its result. Aborts if fork() fails.
  static ChildProcess Fork(const std::function<int()>& body);

  // Forks and runs the program `args[0]` (a path) with `args`, holding no descriptor of the
  // parent's but the three standard ones. When the exec fails the child says why on its
  // standard error and exits 127.
  static ChildProcess Exec(std::vector<std::string> args, const ExecOptions& options = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }

  // Sends `signal` (SIGKILL by default: a real kill -9).
  void Kill(int signal = 9);

  // Waits for the child to end and describes how: "exited 0", "killed by signal 9".
  std::string Wait();

  // Like Wait(), but gives up after `timeout`, kills the child and says so.
  std::string WaitFor(absl::Duration timeout);

  // The strings Wait() returns.
  static std::string Exited(int code);
  static std::string KilledBy(int signal);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
};

// Pins the calling process (all its threads created later) to one CPU. Returns false when
// the CPU does not exist or affinity cannot be set.
bool PinToCpu(int cpu);

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_CHILD_PROCESS_H_
