// ProcessEvent: a forked child tells its parent that something happened, and the parent
// waits for exactly that: a pipe, one byte per Notify().
//
//   ProcessEvent registered;
//   ChildProcess server = ForkTied([&] { Register(); registered.Notify(); return Serve(); });
//   ASSERT_TRUE(registered.WaitFor(absl::Seconds(10)));
//
// Create it before forking; both processes then hold the pipe. WaitFor() returns false
// only when `timeout` passes without a notice, which bounds a failing test.
//
// Thread safety: Notify() and WaitFor() may be called from any thread or process holding
// the pipe. Ownership: the event owns both ends of its pipe.

#ifndef SYSLINK_TESTS_SUPPORT_PROCESS_EVENT_H_
#define SYSLINK_TESTS_SUPPORT_PROCESS_EVENT_H_

#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace syslink::testing {

class ProcessEvent {
 public:
  ProcessEvent();  // aborts if pipe2() fails
  ProcessEvent(const ProcessEvent&) = delete;
  ProcessEvent& operator=(const ProcessEvent&) = delete;

  void Notify();
  // Takes one notice, waiting up to `timeout` for it.
  [[nodiscard]] bool WaitFor(absl::Duration timeout);

 private:
  UniqueFd read_;
  UniqueFd write_;
};

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_PROCESS_EVENT_H_
