#include "syslink/broker/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/errno_status.h"

namespace syslink::broker {

absl::StatusOr<std::string> AbsoluteSocketPath(const std::string& path) {
  std::string absolute = path;
  if (!path.empty() && path[0] != '/') {
    std::error_code error;
    std::filesystem::path made = std::filesystem::absolute(path, error);
    if (error) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "cannot make the broker socket path \"%s\" absolute: %s", path, error.message()));
    }
    absolute = made.lexically_normal().string();
  }
  if (absolute.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "broker socket path \"%s\" is longer than a Unix socket path may be (%d bytes)", absolute,
        sizeof(sockaddr_un{}.sun_path) - 1));
  }
  return absolute;
}

absl::StatusOr<std::string> BrokerSocketPath() {
  std::string path;
  if (const char* explicit_path = std::getenv(kSocketEnv); explicit_path && *explicit_path) {
    path = explicit_path;
  } else if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    path = absl::StrCat(runtime, "/syslink/broker.sock");
  } else {
    path = absl::StrCat("/tmp/syslink-", getuid(), "/broker.sock");
  }
  return AbsoluteSocketPath(path);
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
    return absl::PermissionDeniedError(
        absl::StrFormat("broker directory %s is writable by others (mode %o): refusing to use it",
                        directory, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenBrokerDirectory(const std::string& socket_path,
                                             std::span<const uid_t> trusted) {
  size_t slash = socket_path.rfind('/');
  std::string directory = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : socket_path.substr(0, slash);
  UniqueFd fd(open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no directory ", directory));
    }
    return ErrnoStatus(absl::StrCat("open ", directory));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", directory));
  if (std::find(trusted.begin(), trusted.end(), st.st_uid) == trusted.end()) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "refusing the broker socket %s: its directory %s belongs to uid %d, not to this user "
        "(uid %d) or root; whoever owns it could put a fake broker there. Use a directory "
        "of your own (SYSLINK_BROKER_SOCKET, XDG_RUNTIME_DIR), or name the broker's uid "
        "(BrokerConnectOptions::broker_uid) if you trust it",
        socket_path, directory, st.st_uid, geteuid()));
  }
  if ((st.st_mode & 0022) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "refusing the broker socket %s: its directory %s (owner uid %d) is writable by "
        "others (mode %o), so anyone could put a fake broker there",
        socket_path, directory, st.st_uid, st.st_mode & 07777));
  }
  return fd;
}

}  // namespace syslink::broker
