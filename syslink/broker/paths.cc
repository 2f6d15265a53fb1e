#include "syslink/broker/paths.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/errno_status.h"

namespace syslink::broker {

absl::StatusOr<std::string> BrokerSocketPath() {
  std::string path;
  if (const char* explicit_path = std::getenv(kSocketEnv); explicit_path && *explicit_path) {
    path = explicit_path;
  } else if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    path = absl::StrCat(runtime, "/syslink/broker.sock");
  } else {
    path = absl::StrCat("/tmp/syslink-", getuid(), "/broker.sock");
  }
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "broker socket path \"%s\" is longer than a Unix socket path may be (%d bytes)", path,
        sizeof(sockaddr_un{}.sun_path) - 1));
  }
  return path;
}

std::string LockPathFor(const std::string& socket_path) {
  return absl::StrCat(socket_path, ".lock");
}

absl::Status PrepareSocketDirectory(const std::string& socket_path) {
  size_t slash = socket_path.rfind('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  std::string directory = socket_path.substr(0, slash);
  if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", directory));
  }
  struct stat st;
  if (lstat(directory.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", directory));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(directory, " is not a directory"));
  }
  if (st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "broker directory %s belongs to uid %d, not to this user (%d): refusing to use it",
        directory, st.st_uid, geteuid()));
  }
  if ((st.st_mode & 0022) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "broker directory %s is writable by others (mode %o): refusing to use it", directory,
        st.st_mode & 07777));
  }
  return absl::OkStatus();
}

}  // namespace syslink::broker
