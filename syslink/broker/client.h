// Naming services and connecting to them through the broker.
//
//   // Server:
//   absl::StatusOr<ServiceRegistration> service = ServiceRegistration::Register("echo");
//   absl::StatusOr<IncomingLink> incoming = service->Accept(absl::InfiniteFuture());
//   Serve(std::move(incoming->link), incoming->client.uid);
//
//   // Client (any process of an allowed user):
//   absl::StatusOr<Link> link = ConnectToService("echo");
//
// With no broker running, the first use starts one (an embedded default: nothing to set
// up). It is this program re-executed as syslinkd, detached from the caller; when many
// processes start at once, a lock lets exactly one broker run. Set start_broker = false to
// insist on a broker started by hand or by systemd.
//
// Existing links do not depend on the broker: they keep working if it dies or restarts.
// A ServiceRegistration notices that its broker went away and, on its next Accept(),
// reconnects (starting a broker if allowed) and registers its service again.
//
// Thread safety: a ServiceRegistration is used by one thread at a time; ConnectToService
// may be called from any thread.
// Errors: NOT_FOUND (no such service), PERMISSION_DENIED (the service's policy refuses this
// user), ALREADY_EXISTS (the name is taken), UNAVAILABLE (no broker could be reached or
// started before the timeout), INVALID_ARGUMENT (a bad name or options), each with a
// message naming the service and the broker socket.

#ifndef SYSLINK_SYSLINK_BROKER_CLIENT_H_
#define SYSLINK_SYSLINK_BROKER_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/broker/access_policy.h"
#include "syslink/broker/control_messages.h"
#include "syslink/link.h"

namespace syslink::broker {

struct BrokerConnectOptions {
  std::string socket_path;   // empty: BrokerSocketPath()
  bool start_broker = true;  // start syslinkd when none answers
  absl::Duration timeout = absl::Seconds(10);
};

// This process's end of a new link to service `name`.
[[nodiscard]] absl::StatusOr<Link> ConnectToService(const std::string& name,
                                                    const BrokerConnectOptions& options = {});

// The broker's listing of services, links and counters (what syslinkctl shows).
[[nodiscard]] absl::StatusOr<Listing> ListBroker(const BrokerConnectOptions& options = {});

struct IncomingLink {
  Link link;
  Credentials client;  // attested by the kernel (SO_PEERCRED) when the client connected
  uint64_t link_id = 0;
};

class ServiceRegistration {
 public:
  [[nodiscard]] static absl::StatusOr<ServiceRegistration> Register(
      const std::string& name, const AccessPolicy& policy = AccessPolicy::SameUser(),
      const LinkOptions& link_options = {}, const BrokerConnectOptions& options = {});

  ServiceRegistration(ServiceRegistration&&) = default;
  ServiceRegistration& operator=(ServiceRegistration&&) = default;

  // The next client's link, waiting until `deadline` (DEADLINE_EXCEEDED after it).
  [[nodiscard]] absl::StatusOr<IncomingLink> Accept(absl::Time deadline);

  // Readable when Accept() has something to do (a client, or a broker gone).
  int fd() const { return connection_.get(); }
  const std::string& name() const { return request_.name; }

 private:
  ServiceRegistration(RegisterRequest request, BrokerConnectOptions options)
      : request_(std::move(request)), options_(std::move(options)) {}
  absl::Status Reconnect(absl::Time deadline);

  RegisterRequest request_;
  BrokerConnectOptions options_;
  UniqueFd connection_;
  uint32_t sequence_ = 0;
};

// Starts syslinkd for `socket_path` in the background (this program re-executed, detached)
// and returns at once; it exits by itself if another broker already serves that socket.
[[nodiscard]] absl::Status StartBroker(const std::string& socket_path);

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_CLIENT_H_
