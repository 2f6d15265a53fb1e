// Naming services and connecting to them through the broker.
//
//   // Server:
//   absl::StatusOr<ServiceRegistration> service = ServiceRegistration::Register("echo");
//   service->set_admission([&] { return HaveRoomForAnotherLink(); });   // optional
//   absl::StatusOr<IncomingLink> incoming = service->Accept(absl::InfiniteFuture());
//   Serve(std::move(incoming->link), incoming->client.uid);
//
//   // Client (any process of an allowed user):
//   absl::StatusOr<Link> link = ConnectToService("echo");
//   absl::StatusOr<OutgoingLink> out = ConnectToServiceIdentified("echo", {.server_uid = 0});
//   // out->server: who serves it, as the kernel attested
//
// With no broker running, the first use starts one (an embedded default: nothing to set
// up), detached from the caller: the `syslinkd` installed beside this program if there is
// one, else this program re-executed as syslinkd (embedded_broker.h). It exits once idle
// for `started_broker_idle_exit`. When many processes start at once, a lock lets exactly
// one broker run. Set start_broker = false to insist on a broker started by hand or by
// systemd.
//
// Only a broker the caller can trust is used. Before connecting, the socket's directory
// must belong to this user (the effective uid), root, or `broker_uid`, and be writable by
// nobody else; after connecting, the broker process must run as one of those uids
// (SO_PEERCRED). Otherwise PERMISSION_DENIED names the path and the owner found: another
// user could be listening there and would read everything the caller sends.
//
// A client's ConnectToService returns once the service's server has admitted the link
// (set_admission, run by the server's Accept before the client gets its end), or with the
// server's refusal. A client may require the server's uid or gid and caps the ring and
// arena sizes it maps; both are checked before anything is mapped.
//
// Existing links do not depend on the broker: they keep working if it dies or restarts.
// A ServiceRegistration notices that its broker went away and, on its next Accept(),
// reconnects (starting a broker if allowed) and registers its service again.
//
// Thread safety: a ServiceRegistration is used by one thread at a time; ConnectToService
// may be called from any thread.
// Errors: NOT_FOUND (no such service), PERMISSION_DENIED (the service's policy refuses this
// user, the broker's name policy refuses this name, the server is not the one required, or
// the broker is not trusted), ALREADY_EXISTS (the name is taken), RESOURCE_EXHAUSTED (a
// per-uid limit of the broker, or the service's links are larger than this client
// accepts), UNAVAILABLE (no broker could be reached or started before the timeout, or the
// server did not admit the link), INVALID_ARGUMENT (a bad name or options), or whatever
// status the server's admission refused with; each with a message naming the service and
// the broker socket.

#ifndef SYSLINK_SYSLINK_BROKER_CLIENT_H_
#define SYSLINK_SYSLINK_BROKER_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/broker/access_policy.h"
#include "syslink/broker/control_messages.h"
#include "syslink/link.h"

namespace syslink::broker {

namespace internal {
struct ControlPacket;
}  // namespace internal

struct BrokerConnectOptions {
  std::string socket_path;   // empty: BrokerSocketPath(); a relative path is made absolute
  bool start_broker = true;  // start syslinkd when none answers
  absl::Duration timeout = absl::Seconds(10);
  // A broker this process starts exits once nothing has used it for this long (syslinkd
  // --idle-exit); absl::InfiniteDuration(): it runs until stopped.
  absl::Duration started_broker_idle_exit = absl::Seconds(60);
  // A uid trusted to run the broker besides this user and root (e.g. a system user that
  // runs a machine-wide syslinkd).
  std::optional<uid_t> broker_uid;

  // ConnectToService only. The server must run as this uid / have this gid (primary or
  // supplementary), else PERMISSION_DENIED.
  std::optional<uid_t> server_uid;
  std::optional<gid_t> server_gid;
  // ConnectToService only. The largest ring (each direction, both pre-faulted when the end
  // is mapped) and DMA arena (each end) this process will map for a link; a service whose
  // links are larger is refused with RESOURCE_EXHAUSTED before anything is mapped.
  uint64_t max_ring_capacity = uint64_t{16} << 20;
  uint64_t max_arena_size = uint64_t{64} << 20;
  // ConnectToService only. When no server has registered the service yet, the broker holds
  // the request for up to this long and connects it the moment one registers, instead of
  // answering NOT_FOUND at once (absl::InfiniteDuration(): until `cancel_fd`). The call then
  // waits at most `timeout` plus this.
  absl::Duration wait_for_registration = absl::ZeroDuration();
  // ConnectToService only. A descriptor (an eventfd, say) that another thread makes readable
  // to give up a connect that waits for its answer: the call returns CANCELLED. -1: none.
  // Not owned, and not read: the caller resets it.
  int cancel_fd = -1;
};

// This process's end of a new link to service `name`.
[[nodiscard]] absl::StatusOr<Link> ConnectToService(const std::string& name,
                                                    const BrokerConnectOptions& options = {});

struct OutgoingLink {
  Link link;
  // Who registered the service: the kernel's credentials of its connection to the broker
  // (SO_PEERCRED). uid and gid are sound; pid is the registering process's at connect
  // time, which may have exited since and its pid been reused (docs/broker.md).
  Credentials server;
  uint64_t link_id = 0;
};

// Like ConnectToService, and says who serves the link.
[[nodiscard]] absl::StatusOr<OutgoingLink> ConnectToServiceIdentified(
    const std::string& name, const BrokerConnectOptions& options = {});

// The broker's listing of services, links and counters (what syslinkctl shows).
[[nodiscard]] absl::StatusOr<Listing> ListBroker(const BrokerConnectOptions& options = {});

struct IncomingLink {
  Link link;
  // The kernel's credentials of the client's connection to the broker (SO_PEERCRED). uid
  // and gid are sound; pid is the connecting process's at connect time only: the
  // connection or the end may be another process's by now, and that pid reused. Decide on
  // uid and groups, never on pid (docs/broker.md, "What an identity guarantees").
  Credentials client;
  uint64_t link_id = 0;
  // The client's supplementary groups, attested the same way (SO_PEERGROUPS; at most
  // kMaxClientGroups of them).
  std::vector<gid_t> client_groups;
};

class ServiceRegistration {
 public:
  [[nodiscard]] static absl::StatusOr<ServiceRegistration> Register(
      const std::string& name, const AccessPolicy& policy = AccessPolicy::SameUser(),
      const LinkOptions& link_options = {}, const BrokerConnectOptions& options = {});

  // The same, with the service's method table: the broker keeps it for the links it makes,
  // and syslinkctl shows a waiting request's method by name (request.methods, checked by
  // CheckMethodTable here and again by the broker: INVALID_ARGUMENT naming the entry).
  //
  //   ServiceRegistration::Register({.name = "kv", .methods = {{MethodId("kv.Store.Get"),
  //                                                             "kv.Store/Get"}}});
  [[nodiscard]] static absl::StatusOr<ServiceRegistration> Register(
      RegisterRequest request, const BrokerConnectOptions& options = {});

  ServiceRegistration(ServiceRegistration&&) = default;
  ServiceRegistration& operator=(ServiceRegistration&&) = default;

  // Decides, for each client that asks for a link, whether this server takes it: Accept()
  // calls `admit` when the broker offers a link, before the client gets its end. OK takes
  // it (Accept returns it once the broker has made it); anything else refuses it, and the
  // client's ConnectToService fails with that status (its code kept, its message naming
  // the service) while Accept() goes on waiting. Without it every link is taken. Runs on
  // the thread that calls Accept().
  void set_admission(std::function<absl::Status()> admit) { admit_ = std::move(admit); }

  // The next client's link, waiting until `deadline` (DEADLINE_EXCEEDED after it;
  // absl::InfinitePast(): only what has arrived). Offers that arrive meanwhile are admitted
  // or refused here. A link offered before the deadline may arrive after it: it is
  // returned by the next call.
  [[nodiscard]] absl::StatusOr<IncomingLink> Accept(absl::Time deadline);

  // Readable when Accept() has something to do (an offer, a link, or a broker gone).
  int fd() const { return connection_.get(); }
  const std::string& name() const { return request_.name; }

 private:
  ServiceRegistration(RegisterRequest request, BrokerConnectOptions options)
      : request_(std::move(request)), options_(std::move(options)) {}
  absl::Status Reconnect(absl::Time deadline);
  // Runs the admission for an offer and tells the broker.
  void AnswerOffer(const internal::ControlPacket& offer);

  RegisterRequest request_;
  BrokerConnectOptions options_;
  UniqueFd connection_;
  uint32_t sequence_ = 0;
  std::function<absl::Status()> admit_;
};

// Starts syslinkd for `socket_path` in the background, detached, and returns at once: the
// `syslinkd` in this program's own directory (that of /proc/self/exe) when it is a regular
// executable file of this user or root that nobody else may write, else this program
// re-executed through /proc/self/exe, which names the file it was started from even once
// that path is deleted or replaced (a rebuild). The broker exits by itself once idle for
// `idle_exit` (never if infinite), and at once if another broker already serves that
// socket. A program running setuid, setgid or with file capabilities (AT_SECURE) is never
// re-executed (embedded_broker.h): without an installed syslinkd, FAILED_PRECONDITION.
[[nodiscard]] absl::Status StartBroker(const std::string& socket_path,
                                       absl::Duration idle_exit = absl::Seconds(60));

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_CLIENT_H_
