// PassthroughFs: extended attributes, the host file's own (through /proc/self/fd, as the
// caller), within fs.proto's namespaces (CallerScope::CheckXattr).

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "examples/fs/fs_format.h"
#include "examples/fs/passthrough/answer.h"
#include "examples/fs/passthrough/passthrough_service.h"

namespace syslink::examples::fs {
namespace {

// The host's names of `path`, every namespace: 0 or an errno.
int HostNames(const std::string& path, std::string* names) {
  for (int tries = 0; tries < 4; ++tries) {
    const ssize_t size = listxattr(path.c_str(), nullptr, 0);
    if (size < 0) return errno;
    names->resize(static_cast<size_t>(size));
    const ssize_t got = listxattr(path.c_str(), names->data(), names->size());
    if (got >= 0) {
      names->resize(static_cast<size_t>(got));
      return 0;
    }
    if (errno != ERANGE) return errno;  // ERANGE: a name came meanwhile
  }
  return ERANGE;
}

}  // namespace

int PassthroughFs::XattrTarget(const Context& context, const CallerScope& scope, uint64_t ino,
                               std::string_view name, bool write, std::string* path) const {
  InodeRef inode;
  if (int error = Find(ino, &inode); error != 0) return error;
  struct stat st;
  if (fstatat(inode->fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (!name.empty() || write) {
    if (int error = scope.CheckXattr(st, name, write); error != 0) return error;
  }
  // /proc's link to a symlink would be followed: a symlink's attributes are not served.
  if (S_ISLNK(st.st_mode)) return write ? EPERM : ENODATA;
  *path = ProcFdPath(inode->fd.get());
  return 0;
}

absl::Status PassthroughFs::SetXattr(Context& context, const SetXattrRequest& request,
                                     Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  const uint32_t flags = request.flags();
  if ((flags & ~uint32_t{XATTR_FLAG_CREATE | XATTR_FLAG_REPLACE}) != 0 ||
      flags == (XATTR_FLAG_CREATE | XATTR_FLAG_REPLACE)) {
    return Answer(response, EINVAL);
  }
  static_assert(static_cast<int>(XATTR_FLAG_CREATE) == XATTR_CREATE &&
                    static_cast<int>(XATTR_FLAG_REPLACE) == XATTR_REPLACE,
                "fs.proto's XattrFlag values are setxattr(2)'s");
  std::string path;
  if (int error = XattrTarget(context, scope, request.ino(), request.name(), true, &path);
      error != 0) {
    return Answer(response, error);
  }
  if (request.value().size() > kMaxXattrValue) return Answer(response, E2BIG);
  if (setxattr(path.c_str(), request.name().c_str(), request.value().data(), request.value().size(),
               static_cast<int>(flags)) != 0) {
    return Answer(response, errno);
  }
  return Answer(response, 0);
}

absl::Status PassthroughFs::GetXattr(Context& context, const GetXattrRequest& request,
                                     GetXattrResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  std::string path;
  if (request.name().empty()) return Answer(response, ERANGE);
  if (int error = XattrTarget(context, scope, request.ino(), request.name(), false, &path);
      error != 0) {
    return Answer(response, error);
  }
  std::string value(std::min<size_t>(request.size(), kMaxXattrValue), '\0');
  const ssize_t size = getxattr(path.c_str(), request.name().c_str(),
                                value.empty() ? nullptr : value.data(), value.size());
  if (size < 0) return Answer(response, errno);
  response->set_size(static_cast<uint32_t>(size));
  if (!value.empty()) {
    value.resize(static_cast<size_t>(size));
    response->set_value(std::move(value));
  }
  return Answer(response, 0);
}

absl::Status PassthroughFs::ListXattr(Context& context, const ListXattrRequest& request,
                                      ListXattrResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  std::string path;
  if (int error = XattrTarget(context, scope, request.ino(), "", false, &path); error != 0) {
    return Answer(response, error == ENODATA ? 0 : error);  // a symlink: none
  }
  std::string host;
  if (int error = HostNames(path, &host); error != 0) return Answer(response, error);
  std::string names;  // the ones fs.proto serves, and this caller may see
  for (size_t at = 0; at < host.size();) {
    const size_t end = std::min(host.find('\0', at), host.size());
    const std::string_view name(host.data() + at, end - at);
    at = end + 1;
    if ((name.starts_with("user.") || name.starts_with("security.") ||
         name.starts_with("trusted.")) &&
        ListsXattr(scope.caller(), name)) {
      names.append(name);
      names.push_back('\0');
    }
  }
  response->set_size(static_cast<uint32_t>(names.size()));
  if (request.size() == 0) return Answer(response, 0);
  if (names.size() > request.size()) {
    response->clear_size();
    return Answer(response, ERANGE);
  }
  response->set_names(std::move(names));
  return Answer(response, 0);
}

absl::Status PassthroughFs::RemoveXattr(Context& context, const RemoveXattrRequest& request,
                                        Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  std::string path;
  if (request.name().empty()) return Answer(response, ERANGE);
  if (int error = XattrTarget(context, scope, request.ino(), request.name(), true, &path);
      error != 0) {
    return Answer(response, error);
  }
  if (removexattr(path.c_str(), request.name().c_str()) != 0) return Answer(response, errno);
  return Answer(response, 0);
}

}  // namespace syslink::examples::fs
