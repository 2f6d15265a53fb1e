// Broker: syslinkd's state and event loop. It names services, checks who may register and
// who may connect, makes links once their server admits them, and answers for ends whose
// last holder is gone.
//
//   absl::StatusOr<std::unique_ptr<Broker>> broker = Broker::Start({.socket_path = path});
//   if (broker.ok()) (*broker)->Run();   // until Stop() or SIGTERM handling calls it
//
// One thread, one epoll loop over: the listening socket; every control connection; and,
// for every live link, the broker's side of each end's watch socket
// (internal/link_factory.h). A watch socket hangs up when the last process holding its end
// is gone, and the broker then writes a synthetic PEER_DIED reply into the survivor's
// inbound ring for each request the survivor is still waiting on (internal/vanished_end.h).
// A service disappears with the connection that registered it.
//
// A client's Connect is answered once the service's server has admitted or refused the
// link (kOffer, kAdmit): until then it is pending, never waited for on the broker's
// thread. A pending Connect is answered UNAVAILABLE if the server's connection closes, the
// server unregisters, or it does not answer within `accept_timeout`.
//
// No client can stall the broker's thread: every socket is non-blocking, a client that
// does not read its answers is disconnected, each wake-up accepts a bounded number of
// connections (the rest wait for the next, with the other ready events), and no descriptor
// a client made is ever closed on that thread (internal/descriptor_closer.h; the kernel
// refuses them outright where it can). At the descriptor limit the broker refuses new
// connections with a notice instead of spinning on its listening socket (it keeps a spare
// descriptor for that), and stops listening until a descriptor frees if even that fails.
// Per-uid limits bound the connections, registrations and pending connects of every uid
// but root and the broker's own.
//
// An event is applied only to the descriptor it was reported for: one closed while an
// earlier event of the same wake-up was handled has its remaining events skipped, since its
// number may already be a new connection's or watch socket's.
//
// Robustness: every control message is decoded with bounds checks; a malformed one is
// answered with INVALID_ARGUMENT (or, if it cannot be framed, its connection is closed)
// and counted. A connection that registers nothing and sends nothing for `idle_timeout`
// is closed.
//
// Idle exit: with a finite `idle_exit`, Run() returns once the broker has been idle that
// long: no service registered, no link with an end still held, no connect pending and no
// connection open (before its first connection, at least 10 s, so that a broker started
// on demand waits for the client that started it). It unlinks its socket first, so that nobody can
// reach it any more, then closes its listener (a connection queued there but not yet accepted sees
// the broker hang up, and its client dials again) and lets go of the socket's lock at once, so that
// a broker started for the next client can take it.
//
// Thread safety: Run() on one thread; Stop() from any thread or a signal handler.
// Errors from Start: ALREADY_EXISTS when another broker holds the socket's lock;
// PERMISSION_DENIED for an unsafe socket directory; INVALID_ARGUMENT / NOT_FOUND for a bad
// policy file; system errors via ErrnoStatus.

#ifndef SYSLINK_SYSLINK_BROKER_BROKER_H_
#define SYSLINK_SYSLINK_BROKER_BROKER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/broker/access_policy.h"
#include "syslink/broker/control_messages.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/broker/internal/descriptor_closer.h"
#include "syslink/broker/name_policy.h"

namespace syslink::broker {

// What one uid may hold at once. Root and the broker's own uid are not limited.
struct UidLimits {
  int connections = 256;
  int services = 256;
  int pending_connects = 64;
  // Links made for it as a client and not yet gone (each holds three of the broker's
  // descriptors while either end lives).
  int links = 1024;
};

struct BrokerOptions {
  std::string socket_path;  // required
  mode_t socket_mode = 0600;
  absl::Duration idle_timeout = absl::Seconds(30);
  // How long a client's Connect waits for the server to admit or refuse the link.
  absl::Duration accept_timeout = absl::Seconds(5);
  // Who may register which names (name_policy.h). Empty: the broker's own uid and root.
  std::string policy_path;
  UidLimits limits;
  // Asks the kernel to refuse descriptors sent to the broker (SO_PASSRIGHTS, Linux 6.16).
  // False runs the fallback that older kernels get; for tests.
  bool kernel_refuses_descriptors = true;
  // Run() returns after this long idle (see the file comment). Infinite: never, as for a
  // broker started by hand; a broker a program starts on demand gets a finite one.
  absl::Duration idle_exit = absl::InfiniteDuration();
};

class Broker {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Broker>> Start(const BrokerOptions& options);
  ~Broker();

  // Serves until Stop() or an idle exit. Returns OK after either (exited_idle() tells
  // which), or why the loop could not go on.
  absl::Status Run();

  // Ends Run() soon. Async-signal-safe.
  void Stop();

  const std::string& socket_path() const { return options_.socket_path; }

  // Whether Run() returned because the broker was idle for `idle_exit`.
  bool exited_idle() const { return exited_idle_; }

 private:
  struct Connection {
    UniqueFd fd;
    Credentials peer;
    std::vector<gid_t> groups;  // supplementary (SO_PEERGROUPS)
    bool limited = true;        // counted against per-uid limits
    absl::Time last_activity;
    std::vector<std::string> services;
  };
  // A registration's method names by id (RegisterRequest::methods), shared by its links,
  // which keep it after the service is gone.
  using MethodTable = absl::flat_hash_map<uint32_t, std::string>;
  struct Service {
    int connection;  // fd of the registering connection
    Credentials owner;
    std::vector<gid_t> owner_groups;
    AccessPolicy policy;
    LinkOptions options;
    std::shared_ptr<const MethodTable> methods;
  };
  // A Connect waiting for its server's verdict (kAdmit).
  // PendingConnect::client of a client that left before its server answered.
  static constexpr int kNoClient = -1;
  struct PendingConnect {
    std::string service;
    int client;  // fd of the asking connection; kNoClient once it closed
    uint32_t sequence;
    int server;  // fd of the server's connection
    Credentials client_peer;
    std::vector<gid_t> client_groups;  // the client's, for its server
    Credentials server_peer;
    bool limited;
    LinkOptions options;
    absl::Time expires;
    std::shared_ptr<const MethodTable> methods;
  };
  // A Connect to a service no server has registered yet, held until one does
  // (ConnectRequest::wait_for_registration_ms).
  struct AwaitedConnect {
    ConnectRequest request;
    int client;  // fd of the asking connection
    uint32_t sequence;
    Credentials client_peer;
    bool limited;
    absl::Time expires;
  };
  struct LinkRecord {
    std::string service;
    Credentials client;
    Credentials server;
    absl::Time created;
    UniqueFd region;
    LinkOptions options;
    UniqueFd watch[2];
    // Whether the kernel refuses descriptors sent over each watch socket (else each
    // message on it is labelled, for the closer to find them when it is closed).
    bool watch_refuses_descriptors[2] = {false, false};
    bool closed[2] = {false, false};
    std::shared_ptr<const MethodTable> methods;
    // The uid whose UidUsage::links counts the link: its client's while the client's end
    // is open, then its server's (a server that keeps ends spends its own allowance);
    // none for root and the broker's own uid.
    std::optional<uid_t> counted_uid;
  };
  struct UidUsage {
    int connections = 0;
    int services = 0;
    int pending_connects = 0;
    int links = 0;
  };

  Broker(const BrokerOptions& options, NamePolicy names);
  absl::Status Listen();
  void Accept();
  bool AcceptOutOfDescriptors(int error);
  void Refuse(UniqueFd fd, const absl::Status& why);
  void PauseListening();
  void ResumeListening();
  void OnConnectionReadable(int fd);
  // Closes a connection; the services it registered are dropped, and clients waiting for
  // their verdict are told `why`.
  void CloseConnection(int fd, const std::string& why = "its connection to the broker closed");
  void CloseIdleConnections(absl::Time now);
  void OnWatchHangUp(int fd);
  int NextTimeoutMs(absl::Time now) const;
  // Notes when the broker became idle; whether it has been idle for IdlePeriod().
  bool IdleExitDue(absl::Time now);
  // `idle_exit`, or longer while no connection has come yet.
  absl::Duration IdlePeriod() const;
  // Makes the broker unreachable and lets go of its lock, before Run() returns.
  void LeaveIdle();

  // Sends an answer; a connection that does not take it is closed. False then.
  bool Answer(int fd, uint32_t sequence, const struct Answer& answer,
              std::span<const int> fds = {});
  void HandleRegister(int fd, const internal::ControlPacket& packet);
  void HandleUnregister(int fd, const internal::ControlPacket& packet);
  void HandleConnect(int fd, const internal::ControlPacket& packet);
  // The part of HandleConnect once `request`'s service is registered.
  void ConnectTo(int fd, uint32_t sequence, const ConnectRequest& request);
  // Holds a Connect to a service not registered yet; false (answered) over the limit.
  bool Await(int fd, uint32_t sequence, const ConnectRequest& request);
  // Whether `connection`, if limited, holds `count` of something already, its `limit`: if
  // so, counts the refusal and answers request `sequence` on `fd` with RESOURCE_EXHAUSTED,
  // "uid U already has COUNT `what` the broker at PATH, its limit (syslinkd --`flag`)".
  bool OverLimit(int fd, uint32_t sequence, const Connection& connection, int count, int limit,
                 absl::string_view what, absl::string_view flag);
  // Connects the held Connects to `name`, just registered.
  void ServeAwaited(const std::string& name);
  // Forgets the held Connects matching `match`, answering each with `status` (unless null).
  void FailAwaited(const std::function<bool(const AwaitedConnect&)>& match,
                   const std::function<absl::Status(const AwaitedConnect&)>& status);
  void HandleAdmit(int fd, const internal::ControlPacket& packet);
  void HandleList(int fd, const internal::ControlPacket& packet);
  // What HandleList sends: the services, links and counters, or RESOURCE_EXHAUSTED as soon
  // as the listing's encoded size passes kMaxListingBytes (the rest is not built).
  absl::StatusOr<Listing> BuildListing() const;

  // Why `request` may not have a link to `target`, or OK.
  absl::Status CheckConnect(const Connection& client, const ConnectRequest& request,
                            const Service& target) const;
  // Drops a server that does not take what the broker sends it (`sent` failed).
  void DropUnreadServer(int server, const absl::Status& sent);
  // Makes the link a server admitted and hands out both ends.
  void MakeLink(uint64_t id, PendingConnect pending);
  // Drops `name` (its connection closes or unregisters it); its pending Connects fail.
  void DropService(const std::string& name, const std::string& why);
  // Answers pending Connects matching `match` with `status` and forgets them.
  void FailPending(const std::function<bool(const PendingConnect&)>& match,
                   const std::function<absl::Status(const PendingConnect&)>& status);
  void ExpirePending(absl::Time now);
  // What FailPending and FailAwaited share: takes the entries of `waiting` (pending_ or
  // awaited_) that `match` picks, gives back what they counted against their uid, and
  // answers each with `status` (unless null).
  template <typename Map, typename Entry>
  void FailWaiting(Map& waiting, const std::function<bool(const Entry&)>& match,
                   const std::function<absl::Status(const Entry&)>& status);
  UidUsage& Usage(const Credentials& peer) { return usage_[peer.uid]; }
  // Whether per-uid limits apply to `uid` (not root, not the broker's own uid).
  static bool Limited(uid_t uid);
  // Counts link `link` against `uid` (none: against no uid) instead of the uid it counted
  // against so far, whose usage is released if it holds nothing else.
  void CountLinkAgainst(LinkRecord& link, std::optional<uid_t> uid);
  void ReleaseUsage(uid_t uid);

  bool Watch(int fd, uint32_t events);
  // Takes `fd` out of the poll set, before it is closed. Events epoll_wait already reported
  // for it are ignored: once it is closed, its number may go to a new descriptor in the
  // same wake-up (a connection accepted, a link made), which the event is not about.
  void Unwatch(int fd);

  BrokerOptions options_;
  NamePolicy names_;
  UniqueFd lock_;
  UniqueFd listen_;
  UniqueFd epoll_;
  UniqueFd stop_;     // an eventfd
  UniqueFd reserve_;  // a spare descriptor, given up to refuse a connection at the limit
  bool listening_ = false;
  absl::Time paused_at_;  // when listening stopped for want of a descriptor
  bool kernel_refuses_descriptors_ = false;
  internal::DescriptorCloser closer_;
  absl::flat_hash_map<int, Connection> connections_;
  std::map<std::string, Service> services_;
  std::map<uint64_t, PendingConnect> pending_;
  std::multimap<std::string, AwaitedConnect> awaited_;  // by service name
  std::map<uint64_t, LinkRecord> links_;
  absl::flat_hash_map<int, std::pair<uint64_t, int>> watches_;  // watch fd -> (link, side)
  // Descriptors Unwatch()ed since epoll_wait last returned: Run() skips their events.
  absl::flat_hash_set<int> unwatched_since_wait_;
  absl::flat_hash_map<uid_t, UidUsage> usage_;
  uint64_t next_link_id_ = 1;
  BrokerCounters counters_;
  std::optional<absl::Time> idle_since_;  // since when nothing uses the broker
  bool exited_idle_ = false;
};

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_BROKER_H_
