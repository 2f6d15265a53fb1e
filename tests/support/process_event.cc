#include "tests/support/process_event.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/time/clock.h"

namespace syslink::testing {

ProcessEvent::ProcessEvent() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    std::abort();
  }
  read_.Reset(fds[0]);
  write_.Reset(fds[1]);
}

void ProcessEvent::Notify() {
  char byte = 1;
  while (write(write_.get(), &byte, 1) < 0 && errno == EINTR) {
  }
}

bool ProcessEvent::WaitFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    struct pollfd p = {read_.get(), POLLIN, 0};
    int left = static_cast<int>(
        absl::ToInt64Milliseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())));
    int n = poll(&p, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    char byte;
    if (read(read_.get(), &byte, 1) == 1) return true;
    if (errno != EINTR && errno != EAGAIN) return false;
  }
}

}  // namespace syslink::testing
