#include "examples/fs/passthrough/protected_creates.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace syslink::examples::fs {
namespace {

UniqueFd OpenSysctl(const std::string& path) {
  return UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

// The number the sysctl file `fd` holds now; 0 when it cannot be read.
int ReadLevel(const UniqueFd& fd) {
  if (!fd.valid()) return 0;
  char text[16];
  const ssize_t length = pread(fd.get(), text, sizeof(text), 0);
  int level = 0;
  if (length <= 0 ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace({text, static_cast<size_t>(length)}), &level)) {
    return 0;
  }
  return level;
}

}  // namespace

ProtectedCreates::ProtectedCreates(const std::string& sysctl_dir)
    : regular_(OpenSysctl(sysctl_dir + "/protected_regular")),
      fifos_(OpenSysctl(sysctl_dir + "/protected_fifos")) {}

int ProtectedCreates::MayCreate(const struct stat& dir, const struct stat& file, uid_t uid) const {
  const bool fifo = S_ISFIFO(file.st_mode);
  if (!fifo && !S_ISREG(file.st_mode)) return 0;
  if (!(dir.st_mode & S_ISVTX) || file.st_uid == dir.st_uid || file.st_uid == uid) return 0;
  if (!(dir.st_mode & (S_IWOTH | S_IWGRP))) return 0;
  const int level = ReadLevel(fifo ? fifos_ : regular_);
  if (level <= 0) return 0;
  if (dir.st_mode & S_IWOTH) return EACCES;
  return level >= 2 ? EACCES : 0;  // group-writable only: refused at 2
}

}  // namespace syslink::examples::fs
