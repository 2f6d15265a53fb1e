// What /proc says about a process or one of this process's threads: whether it is asleep,
// and how much CPU it has used. A test waits on these to know that the other side has
// reached a wait, rather than sleeping and hoping it has.
//
//   ASSERT_TRUE(Eventually([&] { return ProcessState(child.pid()) == 'S'; }));
//
// Thread safety: every function may be called from any thread.

#ifndef SYSLINK_TESTS_SUPPORT_PROC_STATE_H_
#define SYSLINK_TESTS_SUPPORT_PROC_STATE_H_

#include <sys/types.h>

#include "absl/time/time.h"

namespace syslink::testing {

// The state letter /proc/<pid>/stat shows ('R', 'S', 'T' for stopped, 'Z'), or '?'.
char ProcessState(pid_t pid);

// The state letter of thread `tid` of this process (/proc/self/task/<tid>/stat), or '?'.
// 'S' means the thread is blocked in a system call (a futex wait, poll(), ...).
char ThreadState(pid_t tid);

// CPU time (user + system) `pid` has used so far, from /proc/<pid>/stat; zero if unknown.
// Counted in clock ticks (usually 10 ms).
absl::Duration CpuTime(pid_t pid);

// CPU time `thread` (a pthread_t of this process) has used so far, to the nanosecond; zero if
// unknown.
absl::Duration ThreadCpuTime(pthread_t thread);

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_PROC_STATE_H_
