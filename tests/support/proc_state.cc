#include "tests/support/proc_state.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace syslink::testing {
namespace {

// The fields of a stat file after the command's closing parenthesis (state first).
std::vector<std::string> StatFields(const std::string& path) {
  std::ifstream stat(path);
  std::string line;
  if (!std::getline(stat, line)) return {};
  size_t paren = line.rfind(')');
  if (paren == std::string::npos) return {};
  return absl::StrSplit(line.substr(paren + 1), ' ', absl::SkipWhitespace());
}

char StateIn(const std::vector<std::string>& fields) {
  return fields.empty() || fields[0].empty() ? '?' : fields[0][0];
}

}  // namespace

char ProcessState(pid_t pid) { return StateIn(StatFields(absl::StrCat("/proc/", pid, "/stat"))); }

char ThreadState(pid_t tid) {
  return StateIn(StatFields(absl::StrCat("/proc/self/task/", tid, "/stat")));
}

absl::Duration CpuTime(pid_t pid) {
  std::vector<std::string> fields = StatFields(absl::StrCat("/proc/", pid, "/stat"));
  int64_t user, system;  // fields 14 and 15 of stat: 12 and 13 after the state
  if (fields.size() < 14 || !absl::SimpleAtoi(fields[11], &user) ||
      !absl::SimpleAtoi(fields[12], &system)) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(static_cast<double>(user + system) / sysconf(_SC_CLK_TCK));
}

absl::Duration ThreadCpuTime(pthread_t thread) {
  clockid_t clock;
  timespec now;
  if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &now) != 0) {
    return absl::ZeroDuration();
  }
  return absl::DurationFromTimespec(now);
}

}  // namespace syslink::testing
