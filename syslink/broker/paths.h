// Where the broker's socket lives.
//
//   absl::StatusOr<std::string> path = BrokerSocketPath();   // for clients and syslinkd
//
// In order: $SYSLINK_BROKER_SOCKET; else $XDG_RUNTIME_DIR/syslink/broker.sock; else
// /tmp/syslink-<uid>/broker.sock. syslinkd --socket PATH overrides all three for itself.
// A relative path is made absolute against the working directory (an auto-started broker
// runs in /).
//
// PrepareSocketDirectory() creates the socket's directory with mode 0700 if missing, and
// refuses one that another user owns or that others can write to, since whoever controls
// that directory could put a fake broker in front of every client. OpenBrokerDirectory()
// is the same check for a client about to dial: the directory must belong to a uid the
// client trusts (itself, root, or one it names).
//
// Thread safety: pure functions of the environment and the file system.

#ifndef SYSLINK_SYSLINK_BROKER_PATHS_H_
#define SYSLINK_SYSLINK_BROKER_PATHS_H_

#include <sys/types.h>

#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace syslink::broker {

inline constexpr char kSocketEnv[] = "SYSLINK_BROKER_SOCKET";

[[nodiscard]] absl::StatusOr<std::string> BrokerSocketPath();

// `path` made absolute; INVALID_ARGUMENT if it is then too long for a Unix socket.
[[nodiscard]] absl::StatusOr<std::string> AbsoluteSocketPath(const std::string& path);

// The lock file beside a socket: whoever holds its flock is the broker for that socket.
std::string LockPathFor(const std::string& socket_path);

[[nodiscard]] absl::Status PrepareSocketDirectory(const std::string& socket_path);

// The directory of `socket_path`, opened with O_PATH once it passed the check (so that
// connecting through /proc/self/fd/N/<name> reaches the directory checked, whatever is
// renamed meanwhile). NOT_FOUND if it does not exist; PERMISSION_DENIED, naming the path
// and its owner, if it belongs to a uid not in `trusted` or others may write to it.
[[nodiscard]] absl::StatusOr<UniqueFd> OpenBrokerDirectory(const std::string& socket_path,
                                                           std::span<const uid_t> trusted);

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_PATHS_H_
