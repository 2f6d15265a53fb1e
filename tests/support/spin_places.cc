#include "tests/support/spin_places.h"

#include <sys/types.h>

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rpc/internal/spin_place.h"

namespace syslink::testing {
namespace {

// What the process calls itself (/proc/PID/comm); "?" if it cannot be read.
std::string ProcessName(pid_t pid) {
  std::ifstream comm(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  if (!std::getline(comm, name) || name.empty()) return "?";
  return name;
}

}  // namespace

std::string SpinPlacesLine() {
  const std::vector<pid_t> holders = rpc::internal::SpinPlace::Holders();
  std::vector<std::string> held;
  for (pid_t pid : holders) {
    if (pid != 0) held.push_back(absl::StrCat("pid ", pid, ", ", ProcessName(pid)));
  }
  std::string line =
      absl::StrCat("spin places: ", holders.size() - held.size(), " of ", holders.size(), " free");
  if (!held.empty()) {
    absl::StrAppend(&line, " (held by ", absl::StrJoin(held, "; "),
                    "): hybrid links here may not follow");
  }
  return line;
}

}  // namespace syslink::testing
