#include "rpc/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/unique_fd.h"
#include "rpc/internal/session_scheduler.h"
#include "rpc/internal/worker_pool.h"

namespace syslink::rpc {
namespace {

// Descriptors a link holds: its socket, its watch socket and its region.
constexpr size_t kDescriptorsPerLink = 3;
// Descriptors left to the rest of the process when max_links is derived from the limit.
constexpr size_t kDescriptorReserve = 64;
// While its broker is away, an acceptor tries to register again this often.
constexpr absl::Duration kReconnectPause = absl::Milliseconds(100);

// The soft RLIMIT_NOFILE, raised to the hard limit first.
size_t RaiseDescriptorLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    struct rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(limit.rlim_cur);
}

size_t DefaultMaxLinks() {
  size_t descriptors = RaiseDescriptorLimit();
  if (descriptors <= kDescriptorReserve + kDescriptorsPerLink) return 1;
  return (descriptors - kDescriptorReserve) / kDescriptorsPerLink;
}

// Waits until `stop` is readable or `timeout` passes; whether it is.
bool WaitForStop(int stop, absl::Duration timeout) {
  struct pollfd p = {stop, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) > 0;
}

// The names of the methods a link to `service` answers, `health`'s included, for the
// broker to show beside their ids ("pkg.Service/Method"); none if the broker would refuse
// them, since they only label what syslinkctl shows.
std::vector<broker::MethodName> MethodNames(const Service& service, const Service& health) {
  std::vector<broker::MethodName> names;
  for (const Service* s : {&service, &health}) {
    for (const Method& m : s->methods()) {
      if (s == &health && service.FindMethod(m.path) != nullptr) continue;
      names.push_back({m.id, std::string(absl::StripPrefix(m.path, "/"))});
    }
  }
  if (!broker::CheckMethodTable(names).ok()) names.clear();
  return names;
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(options),
      max_links_(options.max_links > 0 ? options.max_links : DefaultMaxLinks()),
      pool_(options.workers > 0 ? std::make_unique<internal::WorkerPool>(options.workers)
                                : nullptr),
      scheduler_(std::make_unique<internal::SessionScheduler>(
          internal::SchedulerOptions{.max_threads = std::max(1, options.max_threads),
                                     .max_sessions = max_links_,
                                     .follow_caller = options.follow_caller})),
      stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Server::~Server() {
  Shutdown();
  scheduler_.reset();  // before the pool: no job is left that delivers to a session
}

absl::Status Server::Admit(const std::string& name) const {
  size_t links = scheduler_->sessions();
  if (links < max_links_) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrFormat(
      "the server of \"%s\" serves its limit of %d links; try again when one closes", name,
      max_links_));
}

Service* Server::WithHealthOf(Service* service) {
  absl::MutexLock lock(&mutex_);
  Served& served = with_health_[service];
  if (served.top != nullptr) return served.top;
  served.top = service;
  if (service != &health_ && service->FindMethod(HealthService::kCheck.path) == nullptr) {
    served.with_health = std::make_unique<WithHealth>(service, &health_);
    served.top = served.with_health.get();
    health_.SetServingStatus(std::string(service->service_name()),
                             grpc::health::v1::HealthCheckResponse::SERVING);
    health_.SetServingStatus("", grpc::health::v1::HealthCheckResponse::SERVING);
  }  // else it serves health itself
  if (!options_.interceptors.empty()) {
    served.intercepted = std::make_unique<InterceptedService>(served.top, options_.interceptors);
    served.top = served.intercepted.get();
  }
  return served.top;
}

void Server::ServeLink(Service* service, Link link, PeerIdentity peer) {
  link.SetPatience(options_.reply_patience);
  // Past max_links, `link` closes there: the scheduler counts and adds in one step, so
  // links served at once (acceptors, callers of ServeLink) never pass the limit together.
  scheduler_->Add(WithHealthOf(service), std::move(link), peer, pool_.get());
}

absl::Status Server::ServeBroker(Service* service, const ServeBrokerOptions& options) {
  const std::string name =
      options.name.empty() ? std::string(service->service_name()) : options.name;
  absl::StatusOr<broker::ServiceRegistration> registration =
      broker::ServiceRegistration::Register({.name = name,
                                             .policy = options.policy,
                                             .options = options.link,
                                             .methods = MethodNames(*service, health_)},
                                            options.broker);
  if (!registration.ok()) return registration.status();
  // A link the server cannot serve is refused before the client gets its end.
  registration->set_admission([this, name] { return Admit(name); });
  WithHealthOf(service);  // SERVING from now
  if (name != service->service_name()) {
    health_.SetServingStatus(name, grpc::health::v1::HealthCheckResponse::SERVING);
  }
  absl::MutexLock lock(&mutex_);
  acceptors_.emplace_back([this, service,
                           registration = std::make_shared<broker::ServiceRegistration>(
                               *std::move(registration))] { Accept(service, *registration); });
  return absl::OkStatus();
}

void Server::Accept(Service* service, broker::ServiceRegistration& registration) {
  while (true) {
    absl::StatusOr<broker::IncomingLink> incoming;
    if (registration.fd() < 0) {
      // The broker went away: Accept() registers again with a new one (and waits briefly
      // for a link); between tries, only Shutdown() is waited for.
      incoming = registration.Accept(absl::Now() + kReconnectPause);
      if (!incoming.ok() && !absl::IsDeadlineExceeded(incoming.status()) &&
          WaitForStop(stop_.get(), kReconnectPause)) {
        return;
      }
    } else {
      struct pollfd fds[2] = {{stop_.get(), POLLIN, 0}, {registration.fd(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;  // EINTR
      if (fds[0].revents != 0) return;
      incoming = registration.Accept(absl::InfinitePast());
    }
    if (WaitForStop(stop_.get(), absl::ZeroDuration())) return;
    if (!incoming.ok()) continue;
    PeerIdentity peer{
        incoming->client.pid, incoming->client.uid, incoming->client.gid,
        std::make_shared<const std::vector<gid_t>>(std::move(incoming->client_groups))};
    ServeLink(service, std::move(incoming->link), peer);
  }
}

void Server::Shutdown() { Shutdown(absl::InfinitePast()); }

void Server::Shutdown(absl::Time deadline) {
  health_.Shutdown();  // NOT_SERVING, and every Watch returns
  uint64_t one = 1;
  if (write(stop_.get(), &one, sizeof(one)) < 0) {
    // Cannot fail: the eventfd is far from full.
  }
  std::vector<std::thread> acceptors;
  {
    absl::MutexLock lock(&mutex_);
    acceptors.swap(acceptors_);
  }
  for (std::thread& t : acceptors) t.join();
  // Calls in flight run on until the deadline; then Stop() cancels what still runs. With
  // no time to drain, calls not yet taken end with their links (PEER_DIED), as ever.
  if (deadline > absl::Now()) scheduler_->Drain(deadline);
  scheduler_->Stop();
  absl::MutexLock lock(&mutex_);
  shut_down_ = true;
  shut_down_changed_.SignalAll();
}

void Server::Wait() {
  absl::MutexLock lock(&mutex_);
  while (!shut_down_) shut_down_changed_.Wait(&mutex_);
}

size_t Server::live_links() const { return scheduler_->sessions(); }

int Server::serving_threads() const { return scheduler_->threads(); }

}  // namespace syslink::rpc
