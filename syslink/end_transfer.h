// Moving a link end to another process.
//
//   // Over a connected Unix socket (SCM_RIGHTS):
//   absl::Status s = SendEnd(socket, std::move(end));          // in the sender
//   absl::StatusOr<Link> end = ReceiveEnd(socket, deadline);   // in the receiver
//
//   // To a child, across fork() and exec():
//   absl::StatusOr<std::string> token = ReleaseForChild(std::move(end));
//   if (fork() == 0) execl(child, child, token->c_str(), nullptr);
//   // in the child:
//   absl::StatusOr<Link> end = AdoptEnd(argv[1]);
//
// An end has one user process at a time (its rings are single-producer, single-consumer),
// so handing it over gives it up: the Link passed in is consumed and this process keeps no
// usable copy. The end must be quiescent: no request outstanding or abandoned, none
// received and unanswered, no DMA buffer allocated or lent, no message undelivered;
// otherwise FAILED_PRECONDITION says what is in flight.
//
// The receiving side trusts nothing it is handed: the options are validated, the region's
// seals and size are checked before it is mapped (see ring/shared_region.h), and the rings
// inside are checked before they are attached.
//
// Thread safety: like Link. Errors: FAILED_PRECONDITION (not quiescent, wrong process),
// INVALID_ARGUMENT (a malformed token or end description, a region that fails its checks),
// DEADLINE_EXCEEDED, UNAVAILABLE (the socket closed), and system errors via ErrnoStatus.

#ifndef SYSLINK_SYSLINK_END_TRANSFER_H_
#define SYSLINK_SYSLINK_END_TRANSFER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/link.h"

namespace syslink {

// Sends `end` and its two descriptors over the connected Unix socket `socket`.
[[nodiscard]] absl::Status SendEnd(int socket, Link end);

// Receives an end sent with SendEnd() on `socket`, waiting until `deadline`.
[[nodiscard]] absl::StatusOr<Link> ReceiveEnd(int socket, absl::Time deadline);

// Gives up `end` for a child: its descriptors stay open across exec() (close-on-exec is
// cleared) and the returned token names them. Close them in this process after the fork
// with CloseReleasedEnd(token) if nothing else will.
[[nodiscard]] absl::StatusOr<std::string> ReleaseForChild(Link end);

// In the child: takes over the end named by `token`.
[[nodiscard]] absl::StatusOr<Link> AdoptEnd(absl::string_view token);

// In the parent: closes the descriptors a token names, once the child has them.
void CloseReleasedEnd(absl::string_view token);

// Takes over end `side` of a link from its descriptors (its socket, its region and, for a
// link the broker made, its watch socket), checking them as ReceiveEnd() does. For code
// that receives ends by its own means, such as the broker client.
[[nodiscard]] absl::StatusOr<Link> AdoptEndDescriptors(UniqueFd socket, UniqueFd region,
                                                       UniqueFd watch, int side,
                                                       const LinkOptions& options);

class LinkTransfer;  // the implementation, a friend of Link

}  // namespace syslink

#endif  // SYSLINK_SYSLINK_END_TRANSFER_H_
