// How the passthrough server makes the broker-attested caller's permissions count on the
// host, in one of two ways (CallerAccess), for the length of one rpc (CallerScope).
//
//   CallerScope scope(CallerAccess::kActAsCaller, server_groups, {.uid = 1000, .gid = 1000});
//   if (scope.error() != 0) return scope.error();
//   mkdirat(dir, "d", 0755);   // the kernel checks as 1000:1000; "d" belongs to 1000:1000
//
// kActAsCaller: the calling thread's filesystem credentials become the caller's: fsuid,
// fsgid (setfsuid/setfsgid act on the calling thread only) and supplementary groups (the
// raw setgroups system call, also per thread; glibc's setgroups() would change every
// thread of the process). The host kernel then checks every access as it would for the
// caller, and new files belong to the caller. A caller other than root loses the
// filesystem capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_MKNOD, ...) as
// the kernel drops them with fsuid; the scope also drops CAP_SYS_RESOURCE from the
// thread's effective set (the raw capset system call, per thread), which the kernel would
// leave, so that such a caller's writes meet disk quotas and the blocks a filesystem
// reserves for root as the caller's own would. The destructor gives the thread back the
// effective set it had. Needs a server running as root (CAP_SETUID and CAP_SETGID).
// Changing fsuid makes the process non-dumpable.
//
// kCheckAsServer: for a server that is not root. The server checks each access itself by
// memfs's rules (MayAccess, MayDelete, MayChown, ChmodBits in memfs_inode.h) against the host's
// stat, then acts as itself, so the host kernel checks the server's access too (a caller never gets
// more than the server has), and new files belong to the server's user. The host then
// applies the set-ID rules as for the server (root keeps every set-ID bit, CAP_FSETID),
// so the server applies them for the caller: NewFileMode, ChmodMode, CheckChown and
// RemovePrivileges.
//
// Thread safety: a CallerScope belongs to the thread that made it and must end on it
// (it changes that thread's credentials). Errors: errno values; the checks return 0 when
// allowed, EACCES or EPERM otherwise, and always 0 under kActAsCaller.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_CALLER_ACCESS_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_CALLER_ACCESS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "examples/fs/memfs_inode.h"

namespace syslink::examples::fs {

enum class CallerAccess { kActAsCaller, kCheckAsServer };

// kActAsCaller when this process runs as root, kCheckAsServer otherwise.
CallerAccess DefaultCallerAccess();

class CallerScope {
 public:
  // Acts as, or checks for, `caller` until destroyed. `server_groups` are the supplementary
  // groups to give back to the thread (getgroups() of the process at its start).
  CallerScope(CallerAccess access, std::span<const gid_t> server_groups, const Caller& caller);
  ~CallerScope();
  CallerScope(const CallerScope&) = delete;
  CallerScope& operator=(const CallerScope&) = delete;

  // EPERM when the credentials (or CAP_SYS_RESOURCE) could not be changed (the server is
  // not root): nothing may be done for this caller.
  int error() const { return error_; }
  const Caller& caller() const { return caller_; }
  // Whether the server checks (kCheckAsServer) rather than the kernel.
  bool checks() const { return access_ == CallerAccess::kCheckAsServer; }

  // EACCES unless the caller has every kMay* bit of `mask` on the file `st` describes.
  [[nodiscard]] int Check(const struct stat& st, int mask) const;
  // Creating or removing names in directory `dir`: search and write (EACCES).
  [[nodiscard]] int CheckChange(const struct stat& dir) const;
  // Removing or renaming `victim` from `dir`: the sticky-directory rule (EPERM).
  [[nodiscard]] int CheckDelete(const struct stat& dir, const struct stat& victim) const;
  // Owner-only changes (mode, explicit times): EPERM for another caller.
  [[nodiscard]] int CheckOwner(const struct stat& st) const;
  // Giving the file `st` describes owner `uid` and group `gid` (-1: unchanged), as
  // chown(2): EPERM unless the caller is root, or the owner who keeps the owner and gives
  // the file its present group or one the caller is in.
  [[nodiscard]] int CheckChown(const struct stat& st, uid_t uid, gid_t gid) const;

  // The permission bits (07777) of `mode` that a file this caller makes gets: without
  // S_ISUID and S_ISGID under kCheckAsServer for a caller that is neither root nor the
  // server's user (the file is the server's: its set-ID powers are not the caller's to
  // give). A directory's S_ISGID inherited from its parent is the host's to add.
  [[nodiscard]] mode_t NewFileMode(mode_t mode) const;
  // The permission bits of `mode` that this caller's chmod of the file `st` describes
  // sets: under kCheckAsServer, without S_ISGID for a caller other than root outside the
  // file's group, as the kernel does.
  [[nodiscard]] mode_t ChmodMode(const struct stat& st, mode_t mode) const;
  // Before this caller changes the data of the host file `fd` (any descriptor of it,
  // O_PATH too): under kCheckAsServer, for a caller that is neither root nor the server's
  // user, clears S_ISUID, and S_ISGID unless the group may not execute the file and the
  // caller is in its group, as Linux's file_remove_privs does for a writer without
  // CAP_FSETID. 0 or errno (of fstat, chmod).
  [[nodiscard]] int RemovePrivileges(int fd) const;
  // Getting (`write` false) or setting and removing extended attribute `name` of the file
  // `st` describes: MayXattr's namespace rules under both kinds of access (a server
  // running as root keeps CAP_SYS_ADMIN with any fsuid, so the host would let every
  // caller at trusted and security names), its permission bits under kCheckAsServer only.
  [[nodiscard]] int CheckXattr(const struct stat& st, std::string_view name, bool write) const;

 private:
  // Whether the server drops set-ID bits for this caller that the host, acting as the
  // server, would keep: under kCheckAsServer, for a caller neither root nor the server's user.
  bool StripsSetId() const;
  // Takes CAP_SYS_RESOURCE out of the thread's effective set, keeping the set it had in
  // saved_effective_. 0 (also when the thread had no CAP_SYS_RESOURCE) or errno.
  int DropSysResource();

  CallerAccess access_;
  std::span<const gid_t> server_groups_;
  Caller caller_;
  bool switched_ = false;
  // Whether the destructor gives the thread back saved_effective_ (the words of
  // _LINUX_CAPABILITY_VERSION_3's effective set).
  bool dropped_sys_resource_ = false;
  uint32_t saved_effective_[2] = {};
  int error_ = 0;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_CALLER_ACCESS_H_
