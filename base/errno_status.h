// ErrnoStatus(): an absl::Status for a failed system call.
//
//   if (ftruncate(fd, size) != 0) return ErrnoStatus("ftruncate");
//   // -> RESOURCE_EXHAUSTED: "ftruncate: No space left on device"
//
// The code is the canonical code closest to the errno value; the message names the call
// and the system's description of the error, so the reader knows what failed and why.

#ifndef SYSLINK_BASE_ERRNO_STATUS_H_
#define SYSLINK_BASE_ERRNO_STATUS_H_

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace syslink {

// The canonical code for an errno value.
absl::StatusCode ErrnoToCode(int error_number);

// A status for `what` having failed with `error_number` (by default, the current errno).
absl::Status ErrnoStatus(absl::string_view what, int error_number = errno);

}  // namespace syslink

#endif  // SYSLINK_BASE_ERRNO_STATUS_H_
