#include "examples/fs/passthrough/caller_access.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace syslink::examples::fs {
namespace {

// The raw system calls: each changes the calling thread's credentials only.
void SetThreadFsUid(uid_t uid) { syscall(SYS_setfsuid, uid); }
void SetThreadFsGid(gid_t gid) { syscall(SYS_setfsgid, gid); }
int SetThreadGroups(std::span<const gid_t> groups) {
  return static_cast<int>(syscall(SYS_setgroups, groups.size(), groups.data()));
}
// setfsuid(-1) changes nothing and returns the current fsuid.
uid_t ThreadFsUid() { return static_cast<uid_t>(syscall(SYS_setfsuid, -1)); }
gid_t ThreadFsGid() { return static_cast<gid_t>(syscall(SYS_setfsgid, -1)); }

// The calling thread's capability sets (pid 0: this thread, not the process), through the
// raw system calls: glibc has no wrapper and libcap is not needed for one bit.
using ThreadCaps = __user_cap_data_struct[_LINUX_CAPABILITY_U32S_3];
bool GetThreadCaps(ThreadCaps& caps) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &header, caps) == 0;
}
bool SetThreadCaps(ThreadCaps& caps) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capset, &header, caps) == 0;
}

static_assert(_LINUX_CAPABILITY_U32S_3 == 2, "CallerScope::saved_effective_ holds every word");
static_assert(CAP_SYS_RESOURCE < 32, "CAP_SYS_RESOURCE is in the first word");
constexpr uint32_t kSysResource = uint32_t{1} << CAP_SYS_RESOURCE;

Inode AsInode(const struct stat& st) {
  Inode inode;
  inode.mode = st.st_mode;
  inode.uid = st.st_uid;
  inode.gid = st.st_gid;
  return inode;
}

}  // namespace

CallerAccess DefaultCallerAccess() {
  return geteuid() == 0 ? CallerAccess::kActAsCaller : CallerAccess::kCheckAsServer;
}

CallerScope::CallerScope(CallerAccess access, std::span<const gid_t> server_groups,
                         const Caller& caller)
    : access_(access), server_groups_(server_groups), caller_(caller) {
  if (access_ != CallerAccess::kActAsCaller) return;
  if (caller.uid == ThreadFsUid() && caller.gid == ThreadFsGid()) return;  // root as root
  switched_ = true;
  // Groups and fsgid first, while the thread still has its capabilities.
  if (SetThreadGroups(caller.groups) != 0) error_ = EPERM;
  SetThreadFsGid(caller.gid);
  // Before fsuid, so that the set kept for the destructor is the thread's whole one (the
  // kernel takes the filesystem capabilities out of it with fsuid). Root keeps it, as
  // root's own process would.
  if (!caller.is_root() && DropSysResource() != 0) error_ = EPERM;
  SetThreadFsUid(caller.uid);
  if (ThreadFsUid() != caller.uid || ThreadFsGid() != caller.gid) error_ = EPERM;
}

CallerScope::~CallerScope() {
  if (!switched_) return;
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  SetThreadFsUid(uid);  // first: brings the filesystem capabilities back
  SetThreadFsGid(gid);
  SetThreadGroups(server_groups_);
  // Last: setfsuid back to 0 raised every filesystem capability of the permitted set, which
  // may be more than the thread had; this gives the effective set exactly what it had.
  if (dropped_sys_resource_) {
    ThreadCaps caps;
    if (GetThreadCaps(caps)) {
      for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) caps[i].effective = saved_effective_[i];
      SetThreadCaps(caps);
    }
  }
}

int CallerScope::DropSysResource() {
  ThreadCaps caps;
  if (!GetThreadCaps(caps)) return errno;
  if ((caps[0].effective & kSysResource) == 0) return 0;  // nothing to drop
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) saved_effective_[i] = caps[i].effective;
  caps[0].effective &= ~kSysResource;
  if (!SetThreadCaps(caps)) return errno;
  dropped_sys_resource_ = true;
  return 0;
}

int CallerScope::Check(const struct stat& st, int mask) const {
  if (!checks()) return 0;
  return MayAccess(AsInode(st), caller_, mask) ? 0 : EACCES;
}

int CallerScope::CheckChange(const struct stat& dir) const {
  return Check(dir, kMayWrite | kMayExec);
}

int CallerScope::CheckDelete(const struct stat& dir, const struct stat& victim) const {
  if (!checks()) return 0;
  return MayDelete(AsInode(dir), AsInode(victim), caller_) ? 0 : EPERM;
}

int CallerScope::CheckXattr(const struct stat& st, std::string_view name, bool write) const {
  return MayXattr(AsInode(st), caller_, name, write, /*check_mode=*/checks());
}

int CallerScope::CheckOwner(const struct stat& st) const {
  if (!checks() || caller_.is_root() || caller_.uid == st.st_uid) return 0;
  return EPERM;
}

int CallerScope::CheckChown(const struct stat& st, uid_t uid, gid_t gid) const {
  if (!checks()) return 0;
  // -1: unchanged, as chown(2) says.
  return MayChown(AsInode(st), caller_, uid == static_cast<uid_t>(-1) ? st.st_uid : uid,
                  gid == static_cast<gid_t>(-1) ? st.st_gid : gid)
             ? 0
             : EPERM;
}

bool CallerScope::StripsSetId() const {
  return checks() && !caller_.is_root() && caller_.uid != geteuid();
}

mode_t CallerScope::NewFileMode(mode_t mode) const {
  mode &= 07777;
  return StripsSetId() ? mode & ~(S_ISUID | S_ISGID) : mode;
}

mode_t CallerScope::ChmodMode(const struct stat& st, mode_t mode) const {
  return checks() ? ChmodBits(AsInode(st), caller_, mode) : mode & 07777;
}

int CallerScope::RemovePrivileges(int fd) const {
  if (!StripsSetId()) return 0;
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  mode_t mode = st.st_mode & 07777;
  mode &= ~S_ISUID;
  if ((mode & S_IXGRP) || !caller_.InGroup(st.st_gid)) mode &= ~S_ISGID;
  if (mode == (st.st_mode & 07777)) return 0;
  // Through /proc: fchmod(2) refuses an O_PATH descriptor.
  return chmod(absl::StrCat("/proc/self/fd/", fd).c_str(), mode) == 0 ? 0 : errno;
}

}  // namespace syslink::examples::fs
