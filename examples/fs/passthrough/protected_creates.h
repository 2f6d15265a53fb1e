// The kernel's protection of files in sticky directories from O_CREAT opens by users other
// than their owner (the sysctls fs.protected_regular and fs.protected_fifos, the Linux
// source's Documentation/admin-guide/sysctl/fs.rst), for the passthrough to apply itself.
// Its Create opens a name that exists through /proc/self/fd without O_CREAT, and checking
// for the caller it opens as itself, so the host kernel never makes this check for the
// caller.
//
//   ProtectedCreates protected_creates(kFsSysctlDir);   // opened as the server
//   if (int error = protected_creates.MayCreate(dir_st, file_st, caller.uid); error != 0)
//     return error;  // EACCES: "f" in /tmp is another user's, and protected_regular is 1
//
// The rule, as the kernel's may_create_in_sticky(): an O_CREAT open of an existing regular
// file (FIFO) in a sticky directory is refused (EACCES) when the sysctl is 1 or 2, the
// file belongs neither to the directory's owner nor to the caller (root too: there is no
// exemption), and the directory is world-writable, or group-writable with the sysctl at 2.
//
// The sysctl files are opened once, by the constructor, with the credentials it runs with;
// each check that the sysctl could decide reads the value again (pread at 0), so a change
// of it counts at once, and a thread acting as a caller needs no right to read them. One
// that cannot be opened or read counts as 0: no protection.
//
// Thread safety: thread-safe (MayCreate is const, and pread moves no offset). Ownership:
// owns the two descriptors.

#ifndef SYSLINK_EXAMPLES_FS_PASSTHROUGH_PROTECTED_CREATES_H_
#define SYSLINK_EXAMPLES_FS_PASSTHROUGH_PROTECTED_CREATES_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "base/unique_fd.h"

namespace syslink::examples::fs {

// Where the kernel shows the sysctls.
inline constexpr char kFsSysctlDir[] = "/proc/sys/fs";

class ProtectedCreates {
 public:
  // Opens `protected_regular` and `protected_fifos` under `sysctl_dir`.
  explicit ProtectedCreates(const std::string& sysctl_dir);
  ProtectedCreates(const ProtectedCreates&) = delete;
  ProtectedCreates& operator=(const ProtectedCreates&) = delete;

  // 0 when an O_CREAT open by `uid` of the existing file `file` in directory `dir` is
  // allowed, EACCES when the kernel's rule refuses it.
  [[nodiscard]] int MayCreate(const struct stat& dir, const struct stat& file, uid_t uid) const;

 private:
  UniqueFd regular_;
  UniqueFd fifos_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_PASSTHROUGH_PROTECTED_CREATES_H_
