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
// the kernel drops them with fsuid. Needs a server running as root (CAP_SETUID and
// CAP_SETGID). Changing fsuid makes the process non-dumpable.
//
// kCheckAsServer: for a server that is not root. The server checks each access itself by
// memfs's rules (MayAccess, MayDelete in memfs_inode.h) against the host's stat, then
// acts as itself, so the host kernel checks the server's access too (a caller never gets
// more than the server has), and new files belong to the server's user.
//
// Thread safety: a CallerScope belongs to the thread that made it and must end on it
// (it changes that thread's credentials). Errors: errno values; the checks return 0 when
// allowed, EACCES or EPERM otherwise, and always 0 under kActAsCaller.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_CALLER_ACCESS_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_CALLER_ACCESS_H_

#include <sys/stat.h>
#include <sys/types.h>

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

  // EPERM when the credentials could not be changed (the server is not root): nothing may
  // be done for this caller.
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
  // Owner-only changes (mode, owner, explicit times): EPERM for another caller.
  [[nodiscard]] int CheckOwner(const struct stat& st) const;
  // Getting (`write` false) or setting and removing extended attribute `name` of the file
  // `st` describes: MayXattr's namespace rules under both kinds of access (a server
  // running as root keeps CAP_SYS_ADMIN with any fsuid, so the host would let every
  // caller at trusted and security names), its permission bits under kCheckAsServer only.
  [[nodiscard]] int CheckXattr(const struct stat& st, std::string_view name, bool write) const;

 private:
  CallerAccess access_;
  std::span<const gid_t> server_groups_;
  Caller caller_;
  bool switched_ = false;
  int error_ = 0;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_CALLER_ACCESS_H_
