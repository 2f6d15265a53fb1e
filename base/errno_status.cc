#include "base/errno_status.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace syslink {

absl::StatusCode ErrnoToCode(int error_number) {
  switch (error_number) {
    case 0:
      return absl::StatusCode::kOk;
    case EINVAL:
    case EBADF:
    case ENAMETOOLONG:
    case E2BIG:
    case ENOTSOCK:
      return absl::StatusCode::kInvalidArgument;
    case ENOENT:
    case ESRCH:
    case ENXIO:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EPERM:
    case EACCES:
      return absl::StatusCode::kPermissionDenied;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case EDQUOT:
    case ENOBUFS:
      return absl::StatusCode::kResourceExhausted;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case EINTR:
    case ECANCELED:
      return absl::StatusCode::kCancelled;
    case EAGAIN:
    case EBUSY:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
      return absl::StatusCode::kUnavailable;
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::StatusCode::kUnimplemented;
    case ERANGE:
    case EOVERFLOW:
      return absl::StatusCode::kOutOfRange;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status ErrnoStatus(absl::string_view what, int error_number) {
  return absl::Status(ErrnoToCode(error_number),
                      absl::StrCat(what, ": ", std::strerror(error_number)));
}

}  // namespace syslink
