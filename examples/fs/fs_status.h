// How the file service's errno values travel through absl::Status on the client side.
//
//   absl::StatusOr<Entry> entry = client.Lookup(kRootIno, "notes");
//   if (ErrnoOf(entry.status()) == ENOENT) ...
//
// A server's errno (fs.proto's `error` field) becomes ErrnoError(errno, what): a Status
// with the canonical code closest to it (ENOENT: NOT_FOUND, EEXIST: ALREADY_EXISTS,
// EACCES and EPERM: PERMISSION_DENIED, ...), a message like "lookup \"notes\": No such
// file or directory (ENOENT)", and the errno itself as a payload under kErrnoPayloadUrl.
//
// ErrnoOf() turns any status back into the errno a POSIX caller expects: the payload when
// there is one; otherwise, for a call that never reached the filesystem:
//
//   UNAVAILABLE        ENOTCONN   the server died or closed the link (syslink::IsPeerDied)
//   DEADLINE_EXCEEDED  ETIMEDOUT
//   CANCELLED          EINTR
//   anything else      EIO        (a response that did not parse, a message too large, ...)

#ifndef SYSLINK_EXAMPLES_FS_FS_STATUS_H_
#define SYSLINK_EXAMPLES_FS_FS_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace syslink::examples::fs {

// The payload URL under which a status carries its errno, in decimal.
inline constexpr absl::string_view kErrnoPayloadUrl = "type.syslink/errno";

// A status for errno `error` (positive), the message saying what failed (`what`). OK for 0.
[[nodiscard]] absl::Status ErrnoError(int error, absl::string_view what);

// The errno `status` stands for: 0 when it is OK (see the table above).
[[nodiscard]] int ErrnoOf(const absl::Status& status);

// The canonical code ErrnoError() uses for `error`.
[[nodiscard]] absl::StatusCode CodeForErrno(int error);

// "ENOENT" for ENOENT; "errno 1234" for a value without a name.
[[nodiscard]] std::string ErrnoName(int error);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FS_STATUS_H_
