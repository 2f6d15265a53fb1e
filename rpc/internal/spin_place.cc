#include "rpc/internal/spin_place.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace syslink::rpc::internal {
namespace {

const std::string& Directory() {
  static const std::string directory = [] {
    const char* chosen = std::getenv("SYSLINK_SPIN_PLACES");
    return std::string(chosen != nullptr && *chosen != '\0' ? chosen : "/dev/shm");
  }();
  return directory;
}

// Opens place `n`'s file, making it if it is not there yet (readable by all, so that every
// user's servers share the places).
UniqueFd OpenPlace(int n) {
  const std::string path = absl::StrCat(Directory(), "/syslink-spin-place-", n);
  // An existing file is opened without O_CREAT: in a sticky directory such as /dev/shm,
  // the kernel may refuse O_CREAT on another user's file (fs.protected_regular).
  UniqueFd file(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.valid() || errno != ENOENT) return file;
  file.Reset(open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (file.valid()) {
    (void)fchmod(file.get(), 0644);  // whatever the umask
    return file;
  }
  if (errno != EEXIST) return file;
  return UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));  // another made it meanwhile
}

}  // namespace

int SpinPlace::Count() {
  static const int count = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  return count;
}

std::optional<SpinPlace> SpinPlace::TryTake() {
  for (int n = 0; n < Count(); ++n) {
    UniqueFd file = OpenPlace(n);
    // A lock is held by an open file description: another of this process's places
    // (another open of the same file) refuses it too.
    if (file.valid() && flock(file.get(), LOCK_EX | LOCK_NB) == 0)
      return SpinPlace(std::move(file));
  }
  return std::nullopt;
}

}  // namespace syslink::rpc::internal
