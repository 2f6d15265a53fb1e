#include "examples/fs/fs_status.h"

#include <errno.h>
#include <string.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace syslink::examples::fs {

absl::StatusCode CodeForErrno(int error) {
  switch (error) {
    case 0:
      return absl::StatusCode::kOk;
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
      return absl::StatusCode::kPermissionDenied;
    case ENOTEMPTY:
    case EISDIR:
    case ENOTDIR:
    case ELOOP:
    case ENXIO:
    case EBUSY:
    case EXDEV:
    case EPROTO:
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
    case ENAMETOOLONG:
    case EBADF:
      return absl::StatusCode::kInvalidArgument;
    case EFBIG:
      return absl::StatusCode::kOutOfRange;
    case ENOSPC:
    case ENOMEM:
    case EDQUOT:
      return absl::StatusCode::kResourceExhausted;
    case ENOTCONN:
      return absl::StatusCode::kUnavailable;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case EINTR:
      return absl::StatusCode::kCancelled;
    default:
      return absl::StatusCode::kUnknown;
  }
}

std::string ErrnoName(int error) {
  const char* name = strerrorname_np(error);
  return name != nullptr ? std::string(name) : absl::StrCat("errno ", error);
}

absl::Status ErrnoError(int error, absl::string_view what) {
  if (error == 0) return absl::OkStatus();
  absl::Status status(
      CodeForErrno(error),
      absl::StrFormat("%s: %s (%s)", what,
                      strerrordesc_np(error) != nullptr ? strerrordesc_np(error) : "unknown error",
                      ErrnoName(error)));
  status.SetPayload(kErrnoPayloadUrl, absl::Cord(absl::StrCat(error)));
  return status;
}

int ErrnoOf(const absl::Status& status) {
  if (status.ok()) return 0;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kErrnoPayloadUrl)) {
    int error = 0;
    if (absl::SimpleAtoi(std::string(*payload), &error) && error > 0) return error;
  }
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return ENOTCONN;
    case absl::StatusCode::kDeadlineExceeded:
      return ETIMEDOUT;
    case absl::StatusCode::kCancelled:
      return EINTR;
    default:
      return EIO;
  }
}

}  // namespace syslink::examples::fs
