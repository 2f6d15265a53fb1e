#include "rpc/server.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "rpc/internal/link_session.h"
#include "rpc/internal/worker_pool.h"

namespace syslink::rpc {
namespace {

// An acceptor thread looks at the stop flag this often.
constexpr absl::Duration kAcceptSlice = absl::Milliseconds(100);

}  // namespace

Server::Server(ServerOptions options)
    : options_(options),
      pool_(options.workers > 0 ? std::make_unique<WorkerPool>(options.workers) : nullptr) {}

Server::~Server() { Shutdown(); }

void Server::ServeLink(Service* service, Link link, PeerIdentity peer) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Sessions whose links closed are done: let them go.
  sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                 [](const std::unique_ptr<LinkSession>& s) { return s->done(); }),
                  sessions_.end());
  if (stopping_.load()) return;  // `link` closes here
  sessions_.push_back(std::make_unique<LinkSession>(service, std::move(link), peer, pool_.get()));
}

absl::Status Server::ServeBroker(Service* service, std::string name,
                                 const broker::AccessPolicy& policy,
                                 const LinkOptions& link_options,
                                 const broker::BrokerConnectOptions& connect_options) {
  if (name.empty()) name = std::string(service->service_name());
  absl::StatusOr<broker::ServiceRegistration> registration =
      broker::ServiceRegistration::Register(name, policy, link_options, connect_options);
  if (!registration.ok()) return registration.status();
  std::lock_guard<std::mutex> lock(mutex_);
  acceptors_.emplace_back(
      [this, service, registration = std::make_shared<broker::ServiceRegistration>(
                          *std::move(registration))] {
        while (!stopping_.load()) {
          absl::StatusOr<broker::IncomingLink> incoming =
              registration->Accept(absl::Now() + kAcceptSlice);
          if (!incoming.ok()) {
            // DEADLINE_EXCEEDED: look at the stop flag; anything else: the broker is away
            // for longer than Accept() tries; try again after a pause.
            if (!absl::IsDeadlineExceeded(incoming.status())) absl::SleepFor(kAcceptSlice);
            continue;
          }
          PeerIdentity peer{incoming->client.pid, incoming->client.uid, incoming->client.gid};
          ServeLink(service, std::move(incoming->link), peer);
        }
      });
  return absl::OkStatus();
}

void Server::Shutdown() {
  stopping_.store(true);
  std::vector<std::thread> acceptors;
  std::vector<std::unique_ptr<LinkSession>> sessions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    acceptors.swap(acceptors_);
  }
  for (std::thread& t : acceptors) t.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sessions.swap(sessions_);
  }
  for (auto& session : sessions) session->Stop();
  sessions.clear();  // joins each session's thread
}

size_t Server::live_links() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::count_if(sessions_.begin(), sessions_.end(),
                       [](const std::unique_ptr<LinkSession>& s) { return !s->done(); });
}

}  // namespace syslink::rpc
