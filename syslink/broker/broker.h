// Broker: syslinkd's state and event loop. It names services, checks who may connect,
// makes links, and answers for ends whose last holder is gone.
//
//   absl::StatusOr<std::unique_ptr<Broker>> broker = Broker::Start({.socket_path = path});
//   if (broker.ok()) (*broker)->Run();   // until Stop() or SIGTERM handling calls it
//
// One thread, one epoll loop over: the listening socket; every control connection; and,
// for every live link, the broker's side of each end's watch socket (link_factory.h). A
// watch socket hangs up when the last process holding its end is gone, and the broker then
// writes a synthetic PEER_DIED reply into the survivor's inbound ring for each request the
// survivor is still waiting on (vanished_end.h). A service disappears with the connection
// that registered it.
//
// Robustness: every control message is decoded with bounds checks; a malformed one is
// answered with INVALID_ARGUMENT (or, if it cannot be framed, its connection is closed)
// and counted. Connections are non-blocking: a client that does not read its answers is
// disconnected rather than stalling everyone else. A connection that registers nothing
// and sends nothing for `idle_timeout` is closed.
//
// Thread safety: Run() on one thread; Stop() from any thread or a signal handler.
// Errors from Start: ALREADY_EXISTS when another broker holds the socket's lock;
// PERMISSION_DENIED for an unsafe socket directory; system errors via ErrnoStatus.

#ifndef SYSLINK_SYSLINK_BROKER_BROKER_H_
#define SYSLINK_SYSLINK_BROKER_BROKER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/broker/access_policy.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/control_socket.h"

namespace syslink::broker {

struct BrokerOptions {
  std::string socket_path;  // required
  mode_t socket_mode = 0600;
  absl::Duration idle_timeout = absl::Seconds(30);
};

class Broker {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Broker>> Start(const BrokerOptions& options);
  ~Broker();

  // Serves until Stop(). Returns OK after Stop(), or why the loop could not go on.
  absl::Status Run();

  // Ends Run() soon. Async-signal-safe.
  void Stop();

  const std::string& socket_path() const { return options_.socket_path; }

 private:
  struct Connection {
    UniqueFd fd;
    Credentials peer;
    absl::Time last_activity;
    std::vector<std::string> services;
  };
  struct Service {
    int connection;  // fd of the registering connection
    Credentials owner;
    AccessPolicy policy;
    LinkOptions options;
  };
  struct LinkRecord {
    std::string service;
    Credentials client;
    Credentials server;
    absl::Time created;
    UniqueFd region;
    LinkOptions options;
    UniqueFd watch[2];
    bool closed[2] = {false, false};
  };

  explicit Broker(const BrokerOptions& options);
  absl::Status Listen();
  void Accept();
  void OnConnectionReadable(int fd);
  void CloseConnection(int fd);
  void CloseIdleConnections(absl::Time now);
  void OnWatchHangUp(int fd);

  void Answer(Connection& connection, uint32_t sequence, const Answer& answer,
              std::span<const int> fds = {});
  void HandleRegister(Connection& connection, const ControlPacket& packet);
  void HandleUnregister(Connection& connection, const ControlPacket& packet);
  void HandleConnect(Connection& connection, const ControlPacket& packet);
  void HandleList(Connection& connection, const ControlPacket& packet);

  bool Watch(int fd, uint32_t events);
  void Unwatch(int fd);

  BrokerOptions options_;
  UniqueFd lock_;
  UniqueFd listen_;
  UniqueFd epoll_;
  UniqueFd stop_;  // an eventfd
  absl::flat_hash_map<int, Connection> connections_;
  std::map<std::string, Service> services_;
  std::map<uint64_t, LinkRecord> links_;
  absl::flat_hash_map<int, std::pair<uint64_t, int>> watches_;  // watch fd -> (link, side)
  uint64_t next_link_id_ = 1;
  BrokerCounters counters_;
};

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_BROKER_H_
