#include "rpc/internal/spin_place.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "syslink/internal/fork_generation.h"

namespace syslink::rpc::internal {
namespace {

using ::syslink::internal::CloseInForkedChildren;
using ::syslink::internal::ForkGeneration;
using ::syslink::internal::KeepInForkedChildren;
using ::syslink::internal::RegisteredForkGeneration;

const std::string& Directory() {
  static const std::string directory = [] {
    const char* chosen = std::getenv("SYSLINK_SPIN_PLACES");
    return std::string(chosen != nullptr && *chosen != '\0' ? chosen : "/dev/shm");
  }();
  return directory;
}

std::string PlacePath(int n) { return absl::StrCat(Directory(), "/syslink-spin-place-", n); }

// Opens place `n`'s file, making it if it is not there yet (readable by all, so that every
// user's servers share the places). Invalid if the path is anything but a regular file.
UniqueFd OpenPlace(int n) {
  const std::string path = PlacePath(n);
  // Whatever another user may have put at the path: no symbolic link followed, no wait
  // for a FIFO's writer, no terminal taken as the controlling one.
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  // An existing file is opened without O_CREAT: in a sticky directory such as /dev/shm,
  // the kernel may refuse O_CREAT on another user's file (fs.protected_regular).
  UniqueFd file(open(path.c_str(), kFlags));
  if (!file.valid() && errno == ENOENT) {
    file.Reset(open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0644));
    if (file.valid()) {
      (void)fchmod(file.get(), 0644);  // whatever the umask
    } else if (errno == EEXIST) {
      file.Reset(open(path.c_str(), kFlags));  // another made it meanwhile
    }
  }
  struct stat status;
  if (file.valid() && (fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode))) {
    file.Reset();
  }
  return file;
}

}  // namespace

int SpinPlace::Count() {
  static const int count = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  return count;
}

std::vector<pid_t> SpinPlace::Holders() {
  // A place's file as /proc/locks names it: "<major>:<minor>:<inode>", the device in hex.
  std::vector<std::string> names(Count());
  for (int n = 0; n < Count(); ++n) {
    struct stat status;
    if (lstat(PlacePath(n).c_str(), &status) == 0 && S_ISREG(status.st_mode)) {
      names[n] = absl::StrFormat("%02x:%02x:%u", major(status.st_dev), minor(status.st_dev),
                                 status.st_ino);
    }
  }
  // Lines such as "3: FLOCK  ADVISORY  WRITE 1234 fe:00:1096 0 EOF"; a waiter's has "->"
  // after the number, and is not a holder.
  std::vector<pid_t> holders(Count(), 0);
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 6 || fields[1] != "FLOCK") continue;
    int pid = 0;
    if (!absl::SimpleAtoi(fields[4], &pid)) continue;
    for (int n = 0; n < Count(); ++n) {
      if (!names[n].empty() && fields[5] == names[n]) holders[n] = pid;
    }
  }
  return holders;
}

std::optional<SpinPlace> SpinPlace::TryTake() {
  // Each process starts its search at a place of its own, so that on a machine with many
  // places a search seldom walks past many held ones.
  static const int first = static_cast<int>(getpid() % Count());
  for (int i = 0; i < Count(); ++i) {
    UniqueFd file = OpenPlace((first + i) % Count());
    // A lock is held by an open file description: another of this process's places
    // (another open of the same file) refuses it too.
    if (file.valid() && flock(file.get(), LOCK_EX | LOCK_NB) == 0)
      return SpinPlace(std::move(file));
  }
  return std::nullopt;
}

SpinPlace::SpinPlace(UniqueFd lock) : lock_(std::move(lock)), generation_(ForkGeneration()) {
  CloseInForkedChildren(lock_.get());  // a child holding it would keep the place taken
}

SpinPlace::SpinPlace(SpinPlace&& other) noexcept
    : lock_(std::move(other.lock_)), generation_(other.generation_) {}

SpinPlace& SpinPlace::operator=(SpinPlace&& other) noexcept {
  if (this != &other) {
    Drop();
    lock_ = std::move(other.lock_);
    generation_ = other.generation_;
  }
  return *this;
}

void SpinPlace::Drop() {
  if (!lock_.valid()) return;
  if (RegisteredForkGeneration() == generation_) {
    KeepInForkedChildren(lock_.get());
    lock_.Reset();  // frees the place
  } else {
    (void)lock_.Release();  // a forked child: that number was closed, and may name another file
  }
}

}  // namespace syslink::rpc::internal
