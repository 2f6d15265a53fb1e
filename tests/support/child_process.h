// ChildProcess: a forked child running a function, for multi-process tests and benchmarks.
//
//   ChildProcess child = ChildProcess::Fork([&] { return RunConsumer(fd) ? 0 : 1; });
//   ...
//   EXPECT_EQ(child.Wait(), ChildProcess::Exited(0));
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

#include "absl/time/time.h"

namespace syslink::testing {

class ChildProcess {
 public:
  // Forks; the child runs `body` and exits with its result. Aborts if fork() fails.
  static ChildProcess Fork(const std::function<int()>& body);

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
