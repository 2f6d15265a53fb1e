// Where the broker's socket lives.
//
//   absl::StatusOr<std::string> path = BrokerSocketPath();   // for clients and syslinkd
//
// In order: $SYSLINK_BROKER_SOCKET; else $XDG_RUNTIME_DIR/syslink/broker.sock; else
// /tmp/syslink-<uid>/broker.sock. syslinkd --socket PATH overrides all three for itself.
//
// PrepareSocketDirectory() creates the socket's directory with mode 0700 if missing, and
// refuses one that another user owns or that others can write to, since whoever controls
// that directory could put a fake broker in front of every client.
//
// Thread safety: pure functions of the environment and the file system.

#ifndef SYSLINK_SYSLINK_BROKER_PATHS_H_
#define SYSLINK_SYSLINK_BROKER_PATHS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace syslink::broker {

inline constexpr char kSocketEnv[] = "SYSLINK_BROKER_SOCKET";

[[nodiscard]] absl::StatusOr<std::string> BrokerSocketPath();

// The lock file beside a socket: whoever holds its flock is the broker for that socket.
std::string LockPathFor(const std::string& socket_path);

[[nodiscard]] absl::Status PrepareSocketDirectory(const std::string& socket_path);

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_PATHS_H_
