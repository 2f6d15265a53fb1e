// PassthroughFs's rpcs that make and remove names: Mkdir, Mknod, Symlink, Link, Unlink,
// Rmdir, Rename. Each runs in the caller's scope (caller_access.h) on the parent's O_PATH
// descriptor with *at() calls.

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "examples/fs/fs_format.h"
#include "examples/fs/memfs_tree.h"
#include "examples/fs/passthrough/answer.h"
#include "examples/fs/passthrough/passthrough_service.h"

namespace syslink::examples::fs {
namespace {

// fs.proto's rename flags are renameat2's.
static_assert(RENAME_FLAG_NOREPLACE == RENAME_NOREPLACE);
static_assert(RENAME_FLAG_EXCHANGE == RENAME_EXCHANGE);

bool IsDots(absl::string_view name) { return name == "." || name == ".."; }

// The stat of `name` in `dir`, not following a symlink: 0 or errno.
int StatChild(int dir, const std::string& name, struct stat* st) {
  return fstatat(dir, name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

}  // namespace

template <typename Make>
int PassthroughFs::MakeNode(const Caller& caller, uint64_t client, uint64_t parent,
                            absl::string_view name, Make make, Entry* out) {
  CallerScope scope = Enter(caller);
  if (scope.error() != 0) return scope.error();
  InodeRef dir;
  struct stat dir_st;
  if (int error = FindDir(parent, &dir, &dir_st); error != 0) return error;
  if (int error = CheckNewName(scope, *dir, dir_st, name); error != 0) return error;
  const std::string child(name);
  if (make(scope, dir->fd.get(), child.c_str()) != 0) return errno;
  return AddChildEntry(client, *dir, name, out);
}

absl::Status PassthroughFs::Mkdir(Context& context, const MkdirRequest& request,
                                  EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  auto make = [&](const CallerScope& scope, int dir, const char* name) {
    return mkdirat(dir, name, scope.NewFileMode(request.mode()));
  };
  return Answer(response, MakeNode(*caller, clients_.Join(context.peer()), request.parent(),
                                   request.name(), make, response->mutable_entry()));
}

absl::Status PassthroughFs::Mknod(Context& context, const MknodRequest& request,
                                  EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  mode_t type = request.mode() & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
      type != S_IFBLK) {
    return Answer(response, EINVAL);
  }
  auto make = [&](const CallerScope& scope, int dir, const char* name) {
    if ((type == S_IFCHR || type == S_IFBLK) && scope.checks() && !scope.caller().is_root()) {
      errno = EPERM;  // the kernel's rule: making devices needs CAP_MKNOD
      return -1;
    }
    return mknodat(dir, name, type | scope.NewFileMode(request.mode()),
                   static_cast<dev_t>(request.rdev()));
  };
  return Answer(response, MakeNode(*caller, clients_.Join(context.peer()), request.parent(),
                                   request.name(), make, response->mutable_entry()));
}

absl::Status PassthroughFs::Symlink(Context& context, const SymlinkRequest& request,
                                    EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const std::string& target = request.target();
  if (target.empty()) return Answer(response, ENOENT);
  if (target.size() > kMaxSymlinkLength) return Answer(response, ENAMETOOLONG);
  if (target.find('\0') != std::string::npos) return Answer(response, EINVAL);  // no host has it
  auto make = [&](const CallerScope&, int dir, const char* name) {
    return symlinkat(target.c_str(), dir, name);
  };
  return Answer(response, MakeNode(*caller, clients_.Join(context.peer()), request.parent(),
                                   request.name(), make, response->mutable_entry()));
}

absl::Status PassthroughFs::Link(Context& context, const LinkRequest& request,
                                 EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  InodeRef inode;
  if (int error = Find(request.ino(), &inode); error != 0) return Answer(response, error);
  if (inode->is_dir()) return Answer(response, EPERM);
  auto make = [&](const CallerScope&, int dir, const char* name) {
    if (inode->type != S_IFLNK) {
      // Through /proc, which needs no capability, unlike linkat(AT_EMPTY_PATH).
      return linkat(AT_FDCWD, ProcFdPath(inode->fd.get()).c_str(), dir, name, AT_SYMLINK_FOLLOW);
    }
    // Following /proc's link to a symlink would follow the symlink too.
    const int result = linkat(inode->fd.get(), "", dir, name, AT_EMPTY_PATH);
    if (result != 0 && (errno == ENOENT || errno == EINVAL)) errno = EPERM;
    return result;
  };
  return Answer(response, MakeNode(*caller, clients_.Join(context.peer()), request.new_parent(),
                                   request.new_name(), make, response->mutable_entry()));
}

int PassthroughFs::DoRemove(const CallerScope& scope, const UnlinkRequest& request, bool dir) {
  InodeRef parent;
  struct stat parent_st;
  if (int error = FindDir(request.parent(), &parent, &parent_st); error != 0) return error;
  const std::string& name = request.name();
  if (int error = CheckName(name); error != 0) return error;
  if (int error = scope.Check(parent_st, kMayExec); error != 0) return error;
  if (IsDots(name)) return !dir ? EISDIR : name == "." ? EINVAL : ENOTEMPTY;
  if (scope.checks()) {
    struct stat victim;
    if (int error = StatChild(parent->fd.get(), name, &victim); error != 0) return error;
    if (!dir && S_ISDIR(victim.st_mode)) return EISDIR;
    if (dir && !S_ISDIR(victim.st_mode)) return ENOTDIR;
    if (int error = scope.CheckChange(parent_st); error != 0) return error;
    if (int error = scope.CheckDelete(parent_st, victim); error != 0) return error;
  }
  if (unlinkat(parent->fd.get(), name.c_str(), dir ? AT_REMOVEDIR : 0) != 0) return errno;
  return 0;
}

absl::Status PassthroughFs::Unlink(Context& context, const UnlinkRequest& request,
                                   Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  return Answer(response, DoRemove(scope, request, /*dir=*/false));
}

absl::Status PassthroughFs::Rmdir(Context& context, const UnlinkRequest& request,
                                  Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  return Answer(response, DoRemove(scope, request, /*dir=*/true));
}

int PassthroughFs::DoRename(const CallerScope& scope, const RenameRequest& request) {
  const uint32_t flags = request.flags();
  if ((flags & ~(RENAME_FLAG_NOREPLACE | RENAME_FLAG_EXCHANGE)) != 0 ||
      flags == (RENAME_FLAG_NOREPLACE | RENAME_FLAG_EXCHANGE)) {
    return EINVAL;
  }
  InodeRef from, to;
  struct stat from_st, to_st;
  if (int error = FindDir(request.parent(), &from, &from_st); error != 0) return error;
  if (int error = FindDir(request.new_parent(), &to, &to_st); error != 0) return error;
  if (int error = CheckName(request.name()); error != 0) return error;
  if (int error = CheckName(request.new_name()); error != 0) return error;
  if (int error = scope.Check(from_st, kMayExec); error != 0) return error;
  if (int error = scope.Check(to_st, kMayExec); error != 0) return error;
  if (IsDots(request.name()) || IsDots(request.new_name())) return EINVAL;
  if (scope.checks()) {
    struct stat source, target;
    if (int error = StatChild(from->fd.get(), request.name(), &source); error != 0) return error;
    const bool exists = StatChild(to->fd.get(), request.new_name(), &target) == 0;
    if (int error = scope.CheckChange(from_st); error != 0) return error;
    if (int error = scope.CheckChange(to_st); error != 0) return error;
    if (int error = scope.CheckDelete(from_st, source); error != 0) return error;
    if (exists) {
      if (int error = scope.CheckDelete(to_st, target); error != 0) return error;
    }
    // A directory that changes parent rewrites its "..": so do both of an exchange.
    if (from->ino != to->ino && S_ISDIR(source.st_mode)) {
      if (int error = scope.Check(source, kMayWrite); error != 0) return error;
    }
    if (from->ino != to->ino && exists && (flags & RENAME_FLAG_EXCHANGE) &&
        S_ISDIR(target.st_mode)) {
      if (int error = scope.Check(target, kMayWrite); error != 0) return error;
    }
  }
  if (renameat2(from->fd.get(), request.name().c_str(), to->fd.get(), request.new_name().c_str(),
                flags) != 0) {
    return errno;
  }
  return 0;
}

absl::Status PassthroughFs::Rename(Context& context, const RenameRequest& request,
                                   Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  return Answer(response, DoRename(scope, request));
}

}  // namespace syslink::examples::fs
