// How syslink runs Debian's absl::Mutex: without its lock-order (deadlock) check, as a
// release build of abseil runs it.
//
// Debian builds abseil without NDEBUG, and so absl::Mutex checks lock order on every Lock()
// and Unlock(): it keeps a graph of which lock was taken while which was held, for the
// whole process, under one global lock. Two costs follow:
//   - fork(): a child forked while another thread holds that global lock inherits it held,
//     by a thread the child does not have, and hangs at its first Mutex::Lock(). syslink
//     forks (servers started by tests and tools, ForkedServer, children handed a link end),
//     and a thread of the parent may be taking any lock at that moment;
//   - time: about 400 instructions more for each Lock() and Unlock(), 850 more per stub round
//     trip (tools/count-instructions: 5227 with the check, 4324 without).
// So the check is off from the start of every program that links absl::Mutex through
// //third_party:absl_synchronization. Lock discipline is checked when compiling instead:
// --config=clang makes clang's -Wthread-safety analysis an error.

#include "absl/synchronization/mutex.h"

namespace {

[[maybe_unused]] const bool kLockOrderCheckOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace
