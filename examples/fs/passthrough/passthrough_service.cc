// PassthroughFs: opening the served directory, resolving inodes and names, and the rpcs
// about inodes themselves (Init, Statfs, Lookup, Forget, GetAttr, SetAttr, ReadLink).
// Making and removing names is in passthrough_namespace.cc; handles and data in
// passthrough_files.cc.

#include "examples/fs/passthrough/passthrough_service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "examples/fs/fs_format.h"
#include "examples/fs/fs_status.h"
#include "examples/fs/init_answer.h"
#include "examples/fs/memfs_tree.h"
#include "examples/fs/passthrough/answer.h"

namespace syslink::examples::fs {
namespace {

int64_t Nanos(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

struct timespec Timespec(int64_t nanos) {
  struct timespec t;
  t.tv_sec = nanos / 1'000'000'000;
  t.tv_nsec = nanos % 1'000'000'000;
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1'000'000'000;
    --t.tv_sec;
  }
  return t;
}

std::vector<gid_t> ProcessGroups() {
  std::vector<gid_t> groups(std::max(getgroups(0, nullptr), 0));
  const int count = getgroups(static_cast<int>(groups.size()), groups.data());
  groups.resize(std::max(count, 0));
  return groups;
}

// The timespecs utimensat(2) takes for SetAttr's time fields.
void SetAttrTimes(const SetAttrRequest& request, struct timespec times[2]) {
  const uint32_t valid = request.valid();
  times[0].tv_nsec = times[1].tv_nsec = UTIME_OMIT;
  if (valid & SET_ATTR_ATIME_NOW) {
    times[0].tv_nsec = UTIME_NOW;
  } else if (valid & SET_ATTR_ATIME) {
    times[0] = Timespec(request.atime_ns());
  }
  if (valid & SET_ATTR_MTIME_NOW) {
    times[1].tv_nsec = UTIME_NOW;
  } else if (valid & SET_ATTR_MTIME) {
    times[1] = Timespec(request.mtime_ns());
  }
}

}  // namespace

void FillAttr(uint64_t ino, const struct stat& st, Attr* out) {
  out->set_ino(ino);
  out->set_mode(st.st_mode);
  out->set_nlink(static_cast<uint32_t>(st.st_nlink));
  out->set_uid(st.st_uid);
  out->set_gid(st.st_gid);
  out->set_size(st.st_size);
  out->set_blocks(st.st_blocks);
  out->set_atime_ns(Nanos(st.st_atim));
  out->set_mtime_ns(Nanos(st.st_mtim));
  out->set_ctime_ns(Nanos(st.st_ctim));
  out->set_rdev(st.st_rdev);
  out->set_blksize(static_cast<uint32_t>(st.st_blksize));
}

std::string ProcFdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

absl::StatusOr<std::unique_ptr<PassthroughFs>> PassthroughFs::Open(const std::string& dir,
                                                                   PassthroughOptions options) {
  UniqueFd root(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoError(errno, absl::StrCat("serve \"", dir, "\""));
  if (::access("/proc/self/fd", X_OK) != 0) {
    return ErrnoError(errno, "open files through /proc/self/fd (is /proc mounted?)");
  }
  return std::unique_ptr<PassthroughFs>(new PassthroughFs(std::move(root), std::move(options)));
}

PassthroughFs::PassthroughFs(UniqueFd root, PassthroughOptions options)
    : access_(options.access),
      server_groups_(ProcessGroups()),
      trust_(std::move(options.trusted_uids), "passthrough"),
      protected_creates_(options.sysctl_dir),
      inodes_(std::move(root)),
      clients_([this](ClientProcesses::Holdings left) { GiveBack(std::move(left)); }) {}

CallerScope PassthroughFs::Enter(const Caller& caller) const {
  return CallerScope(access_, server_groups_, caller);
}

int PassthroughFs::Find(uint64_t ino, InodeRef* inode) const {
  *inode = inodes_.Find(ino);
  return *inode == nullptr ? ENOENT : 0;
}

int PassthroughFs::FindDir(uint64_t ino, InodeRef* dir, struct stat* st) const {
  if (int error = Find(ino, dir); error != 0) return error;
  if (!(*dir)->is_dir()) return ENOTDIR;
  if (st != nullptr && fstatat((*dir)->fd.get(), "", st, AT_EMPTY_PATH) != 0) return errno;
  return 0;
}

int PassthroughFs::CheckNewName(const CallerScope& scope, const HostInode& dir,
                                const struct stat& dir_st, absl::string_view name) const {
  if (int error = CheckName(name); error != 0) return error;
  if (int error = scope.Check(dir_st, kMayExec); error != 0) return error;
  if (name == "." || name == "..") return EEXIST;
  if (!scope.checks()) return 0;  // the kernel checks the rest
  struct stat st;
  if (fstatat(dir.fd.get(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return EEXIST;
  }
  return scope.CheckChange(dir_st);
}

int PassthroughFs::OpenChild(const HostInode& dir, absl::string_view name, UniqueFd* out) const {
  // The one name that could lead out of the served directory.
  if (name == ".." && dir.ino == kRootIno) name = ".";
  out->Reset(openat(dir.fd.get(), std::string(name).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  return out->valid() ? 0 : errno;
}

int PassthroughFs::AddEntry(uint64_t client, UniqueFd fd, Entry* out) {
  struct stat st;
  if (fstatat(fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  const uint64_t ino = inodes_.Add(std::move(fd), st);
  if (!clients_.AddLookup(client, ino)) {
    inodes_.Forget(ino, 1);
    return ENOTCONN;  // its process has ended meanwhile
  }
  out->set_ino(ino);
  out->set_generation(1);  // numbers are never reused
  FillAttr(ino, st, out->mutable_attr());
  return 0;
}

int PassthroughFs::AddChildEntry(uint64_t client, const HostInode& dir, absl::string_view name,
                                 Entry* out) {
  UniqueFd child;
  if (int error = OpenChild(dir, name, &child); error != 0) return error;
  return AddEntry(client, std::move(child), out);
}

void PassthroughFs::ForgetFor(uint64_t client, uint64_t ino, uint64_t nlookup) {
  // Lookup counts are per host file: what the client does not hold is another's.
  const uint64_t held = clients_.Forget(client, ino, nlookup);
  if (held > 0) inodes_.Forget(ino, held);
}

void PassthroughFs::GiveBack(ClientProcesses::Holdings left) {
  for (const ClientProcesses::HeldHandle& held : left.handles) {
    (void)ReleaseHandle(held.ino, held.fh, held.dir);
  }
  for (const auto& [ino, nlookup] : left.lookups) inodes_.Forget(ino, nlookup);
}

int PassthroughFs::Reopen(const HostInode& inode, int flags, UniqueFd* out) const {
  out->Reset(open(ProcFdPath(inode.fd.get()).c_str(), flags | O_CLOEXEC));
  return out->valid() ? 0 : errno;
}

absl::Status PassthroughFs::Init(Context& context, const InitRequest& request,
                                 InitResponse* response) {
  const int error = FillInit(request, response);
  if (error == 0) response->set_acts_for_others(trust_.Trusts(context.peer()));
  return Answer(response, error);
}

absl::Status PassthroughFs::Statfs(Context&, const StatfsRequest&, StatfsResponse* response) {
  struct statfs st;
  if (fstatfs(inodes_.root()->fd.get(), &st) != 0) return Answer(response, errno);
  response->set_block_size(static_cast<uint32_t>(st.f_frsize != 0 ? st.f_frsize : st.f_bsize));
  response->set_blocks(st.f_blocks);
  response->set_blocks_free(st.f_bfree);
  response->set_blocks_available(st.f_bavail);
  response->set_files(st.f_files);
  response->set_files_free(st.f_ffree);
  response->set_name_max(static_cast<uint32_t>(std::min<uint64_t>(st.f_namelen, kMaxNameLength)));
  return Answer(response, 0);
}

absl::Status PassthroughFs::Lookup(Context& context, const LookupRequest& request,
                                   EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());  // as the server, before the scope
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  InodeRef dir;
  struct stat dir_st;
  if (int error = FindDir(request.parent(), &dir, &dir_st); error != 0) {
    return Answer(response, error);
  }
  if (int error = CheckName(request.name()); error != 0) return Answer(response, error);
  if (int error = scope.Check(dir_st, kMayExec); error != 0) return Answer(response, error);
  UniqueFd child;
  if (int error = OpenChild(*dir, request.name(), &child); error != 0) {
    return Answer(response, error);
  }
  return Answer(response, AddEntry(client, std::move(child), response->mutable_entry()));
}

absl::Status PassthroughFs::Forget(Context& context, const ForgetRequest& request,
                                   Result* response) {
  const uint64_t client = clients_.Join(context.peer());
  for (const ForgetRequest::Item& item : request.items()) {
    ForgetFor(client, item.ino(), item.nlookup());
  }
  return Answer(response, 0);
}

absl::Status PassthroughFs::GetAttr(Context&, const GetAttrRequest& request,
                                    AttrResponse* response) {
  InodeRef inode;
  if (int error = Find(request.ino(), &inode); error != 0) return Answer(response, error);
  struct stat st;
  if (fstatat(inode->fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return Answer(response, errno);
  }
  FillAttr(inode->ino, st, response->mutable_attr());
  return Answer(response, 0);
}

int PassthroughFs::DoSetAttr(const CallerScope& scope, const SetAttrRequest& request, Attr* out) {
  constexpr uint32_t kKnown = SET_ATTR_MODE | SET_ATTR_UID | SET_ATTR_GID | SET_ATTR_SIZE |
                              SET_ATTR_ATIME | SET_ATTR_MTIME | SET_ATTR_ATIME_NOW |
                              SET_ATTR_MTIME_NOW;
  constexpr uint32_t kBothNow = SET_ATTR_ATIME_NOW | SET_ATTR_MTIME_NOW;
  const uint32_t valid = request.valid();
  InodeRef inode;
  if (int error = Find(request.ino(), &inode); error != 0) return error;
  if ((valid & ~kKnown) != 0) return EINVAL;
  const int fd = inode->fd.get();
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  // The server's own checks (kCheckAsServer); the kernel makes its own either way.
  // Times: both "now" is what a writer may do too; anything else is the owner's (utimensat).
  constexpr uint32_t kTimes = SET_ATTR_ATIME | SET_ATTR_MTIME | kBothNow;
  const bool both_now = (valid & kBothNow) == kBothNow;
  const uid_t uid = (valid & SET_ATTR_UID) ? request.uid() : static_cast<uid_t>(-1);
  const gid_t gid = (valid & SET_ATTR_GID) ? request.gid() : static_cast<gid_t>(-1);
  if ((valid & SET_ATTR_MODE) || ((valid & kTimes) && !both_now)) {
    if (int error = scope.CheckOwner(st); error != 0) return error;
  }
  if (valid & (SET_ATTR_UID | SET_ATTR_GID)) {
    if (int error = scope.CheckChown(st, uid, gid); error != 0) return error;
  }
  if (both_now && scope.CheckOwner(st) != 0) {
    if (int error = scope.Check(st, kMayWrite); error != 0) return error;
  }
  if (valid & SET_ATTR_MODE) {
    if (inode->type == S_IFLNK) return EOPNOTSUPP;  // as fchmodat(AT_SYMLINK_NOFOLLOW)
    if (chmod(ProcFdPath(fd).c_str(), scope.ChmodMode(st, request.mode())) != 0) return errno;
  }
  // No set-ID bit survives a chown of a file: the host kernel drops them, for root too.
  if (valid & (SET_ATTR_UID | SET_ATTR_GID)) {
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  }
  if (valid & SET_ATTR_SIZE) {
    if (inode->is_dir()) return EISDIR;
    if (inode->type != S_IFREG) return EINVAL;
    if (request.size() > static_cast<uint64_t>(INT64_MAX)) return EFBIG;
    const off_t size = static_cast<off_t>(request.size());
    std::shared_ptr<HostHandle> handle;
    if (request.fh() != 0) {
      handle = handles_.Find(inode->ino, request.fh(), false);
      if (handle == nullptr || !handle->writable()) return EBADF;
    } else if (int error = scope.Check(st, kMayWrite); error != 0) {
      return error;
    }
    // A truncate drops set-ID bits as a write does, unless this request sets the mode.
    if (!(valid & SET_ATTR_MODE)) {
      if (int error = scope.RemovePrivileges(fd); error != 0) return error;
    }
    if ((handle != nullptr ? ftruncate(handle->fd.get(), size)
                           : truncate(ProcFdPath(fd).c_str(), size)) != 0) {
      return errno;
    }
  }
  if (valid & kTimes) {
    struct timespec times[2];
    SetAttrTimes(request, times);
    if (utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  }
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  FillAttr(inode->ino, st, out);
  return 0;
}

absl::Status PassthroughFs::SetAttr(Context& context, const SetAttrRequest& request,
                                    AttrResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  return Answer(response, DoSetAttr(scope, request, response->mutable_attr()));
}

absl::Status PassthroughFs::ReadLink(Context&, const ReadLinkRequest& request,
                                     ReadLinkResponse* response) {
  InodeRef inode;
  if (int error = Find(request.ino(), &inode); error != 0) return Answer(response, error);
  if (inode->type != S_IFLNK) return Answer(response, EINVAL);
  char target[PATH_MAX];
  const ssize_t length = readlinkat(inode->fd.get(), "", target, sizeof(target));
  if (length < 0) return Answer(response, errno);
  response->set_target(target, static_cast<size_t>(length));
  return Answer(response, 0);
}

}  // namespace syslink::examples::fs
