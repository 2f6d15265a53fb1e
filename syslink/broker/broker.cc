#include "syslink/broker/broker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "syslink/broker/link_factory.h"
#include "syslink/broker/paths.h"
#include "syslink/broker/vanished_end.h"

namespace syslink::broker {
namespace {

constexpr int kBacklog = 4096;
constexpr int kMaxEvents = 256;

// Lets the broker hold as many connections and links as the hard limit allows.
void RaiseDescriptorLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

uint64_t OpenDescriptors() {
  std::error_code error;
  uint64_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

}  // namespace

Broker::Broker(const BrokerOptions& options) : options_(options) {}

Broker::~Broker() = default;

absl::StatusOr<std::unique_ptr<Broker>> Broker::Start(const BrokerOptions& options) {
  if (options.socket_path.empty()) return absl::InvalidArgumentError("no broker socket path");
  if (options.socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker socket path is too long: ", options.socket_path));
  }
  if (absl::Status s = PrepareSocketDirectory(options.socket_path); !s.ok()) return s;
  std::unique_ptr<Broker> broker(new Broker(options));
  // Whoever holds the lock is the broker for this socket; everyone else backs off.
  std::string lock_path = LockPathFor(options.socket_path);
  broker->lock_.Reset(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!broker->lock_.valid()) return ErrnoStatus(absl::StrCat("open ", lock_path));
  if (flock(broker->lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::AlreadyExistsError(absl::StrCat(
          "another syslinkd already serves ", options.socket_path, " (it holds ", lock_path, ")"));
    }
    return ErrnoStatus(absl::StrCat("flock ", lock_path));
  }
  RaiseDescriptorLimit();
  if (absl::Status s = broker->Listen(); !s.ok()) return s;
  return broker;
}

absl::Status Broker::Listen() {
  listen_.Reset(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_.valid()) return ErrnoStatus("socket for the broker");
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, options_.socket_path.c_str(), sizeof(address.sun_path) - 1);
  unlink(options_.socket_path.c_str());  // a stale socket; we hold the lock
  if (bind(listen_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return ErrnoStatus(absl::StrCat("bind ", options_.socket_path));
  }
  if (chmod(options_.socket_path.c_str(), options_.socket_mode) != 0) {
    return ErrnoStatus(absl::StrCat("chmod ", options_.socket_path));
  }
  if (listen(listen_.get(), kBacklog) != 0) return ErrnoStatus("listen");
  epoll_.Reset(epoll_create1(EPOLL_CLOEXEC));
  stop_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_.valid() || !stop_.valid()) return ErrnoStatus("epoll_create1/eventfd");
  if (!Watch(listen_.get(), EPOLLIN) || !Watch(stop_.get(), EPOLLIN)) {
    return ErrnoStatus("epoll_ctl");
  }
  return absl::OkStatus();
}

bool Broker::Watch(int fd, uint32_t events) {
  struct epoll_event event = {};
  event.events = events;
  event.data.fd = fd;
  return epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) == 0;
}

void Broker::Unwatch(int fd) { epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void Broker::Stop() {
  uint64_t one = 1;
  if (write(stop_.get(), &one, sizeof(one)) < 0) {
    // The eventfd cannot be full: nothing to do.
  }
}

absl::Status Broker::Run() {
  struct epoll_event events[kMaxEvents];
  while (true) {
    int n = epoll_wait(epoll_.get(), events, kMaxEvents, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_.get()) {
        unlink(options_.socket_path.c_str());
        return absl::OkStatus();
      }
      if (fd == listen_.get()) {
        Accept();
      } else if (watches_.contains(fd)) {
        OnWatchHangUp(fd);
      } else if (connections_.contains(fd)) {
        OnConnectionReadable(fd);
      }
    }
    CloseIdleConnections(absl::Now());
  }
}

void Broker::Accept() {
  while (true) {
    UniqueFd fd(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) return;  // EAGAIN, or out of descriptors: try again on the next event
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) continue;
    int raw = fd.get();
    if (!Watch(raw, EPOLLIN | EPOLLRDHUP)) continue;
    ++counters_.connections;
    Connection& connection = connections_[raw];
    connection.fd = std::move(fd);
    connection.peer = {credentials.pid, credentials.uid, credentials.gid};
    connection.last_activity = absl::Now();
  }
}

void Broker::CloseConnection(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  for (const std::string& name : it->second.services) services_.erase(name);
  Unwatch(fd);
  connections_.erase(it);  // closes the descriptor
}

void Broker::CloseIdleConnections(absl::Time now) {
  std::vector<int> idle;
  for (const auto& [fd, connection] : connections_) {
    if (connection.services.empty() && now - connection.last_activity > options_.idle_timeout) {
      idle.push_back(fd);
    }
  }
  for (int fd : idle) CloseConnection(fd);
}

void Broker::OnConnectionReadable(int fd) {
  Connection& connection = connections_[fd];
  absl::StatusOr<ControlPacket> packet = ReceiveControl(fd, absl::InfinitePast());
  if (!packet.ok()) {
    if (absl::IsDeadlineExceeded(packet.status())) return;  // spurious wake-up
    if (absl::IsInvalidArgument(packet.status())) ++counters_.malformed;
    CloseConnection(fd);  // closed, reset, or not even framed: nothing to answer
    return;
  }
  connection.last_activity = absl::Now();
  switch (packet->type) {
    case ControlType::kRegister:
      return HandleRegister(connection, *packet);
    case ControlType::kUnregister:
      return HandleUnregister(connection, *packet);
    case ControlType::kConnect:
      return HandleConnect(connection, *packet);
    case ControlType::kList:
      return HandleList(connection, *packet);
    default:
      ++counters_.malformed;
      Answer(connection, packet->sequence,
             {.status = absl::InvalidArgumentError(absl::StrFormat(
                  "unknown control message type %d", static_cast<int>(packet->type)))});
  }
}

void Broker::Answer(Connection& connection, uint32_t sequence, const struct Answer& answer,
                    std::span<const int> fds) {
  std::vector<std::byte> body = EncodeAnswer(answer);
  absl::Status sent = SendControl(connection.fd.get(), ControlType::kAnswer, sequence, body, fds);
  // A client that does not take its answers (its socket buffer is full) is disconnected
  // rather than allowed to stall the broker.
  if (!sent.ok()) CloseConnection(connection.fd.get());
}

void Broker::HandleRegister(Connection& connection, const ControlPacket& packet) {
  absl::StatusOr<RegisterRequest> request = DecodeRegister(packet.body);
  if (!request.ok()) {
    ++counters_.malformed;
    return Answer(connection, packet.sequence, {.status = request.status()});
  }
  if (auto it = services_.find(request->name); it != services_.end()) {
    return Answer(connection, packet.sequence,
                  {.status = absl::AlreadyExistsError(absl::StrFormat(
                       "service \"%s\" is already registered by pid %d (uid %d)", request->name,
                       it->second.owner.pid, it->second.owner.uid))});
  }
  services_[request->name] = {connection.fd.get(), connection.peer, request->policy,
                              request->options};
  connection.services.push_back(request->name);
  ++counters_.registrations;
  Answer(connection, packet.sequence, {.status = absl::OkStatus()});
}

void Broker::HandleUnregister(Connection& connection, const ControlPacket& packet) {
  absl::StatusOr<std::string> name = DecodeName(packet.body);
  if (!name.ok()) {
    ++counters_.malformed;
    return Answer(connection, packet.sequence, {.status = name.status()});
  }
  auto it = std::find(connection.services.begin(), connection.services.end(), *name);
  if (it == connection.services.end()) {
    return Answer(connection, packet.sequence,
                  {.status = absl::NotFoundError(absl::StrFormat(
                       "this connection has not registered service \"%s\"", *name))});
  }
  connection.services.erase(it);
  services_.erase(*name);
  Answer(connection, packet.sequence, {.status = absl::OkStatus()});
}

void Broker::HandleConnect(Connection& connection, const ControlPacket& packet) {
  absl::StatusOr<std::string> name = DecodeName(packet.body);
  if (!name.ok()) {
    ++counters_.malformed;
    return Answer(connection, packet.sequence, {.status = name.status()});
  }
  auto service = services_.find(*name);
  if (service == services_.end()) {
    ++counters_.not_found;
    return Answer(connection, packet.sequence,
                  {.status = absl::NotFoundError(absl::StrFormat(
                       "no service \"%s\" is registered with the broker at %s; is its server "
                       "running, and using the same broker socket?",
                       *name, options_.socket_path))});
  }
  const Service& target = service->second;
  if (!target.policy.Allows(connection.peer, target.owner.uid)) {
    ++counters_.refused;
    return Answer(connection, packet.sequence,
                  {.status = absl::PermissionDeniedError(absl::StrFormat(
                       "uid %d (gid %d) may not connect to service \"%s\"; it admits %s",
                       connection.peer.uid, connection.peer.gid, *name,
                       target.policy.Describe(target.owner.uid)))});
  }
  absl::StatusOr<LinkResources> made = MakeLinkResources(target.options);
  if (!made.ok()) return Answer(connection, packet.sequence, {.status = made.status()});
  uint64_t id = next_link_id_++;
  NewLinkEvent event{*name, connection.peer, id, 1, target.options};
  int server_fds[] = {made->end_socket[1].get(), made->region.get(),
                      made->watch_for_end[1].get()};
  auto server = connections_.find(target.connection);
  absl::Status told = SendControl(target.connection, ControlType::kNewLink, 0,
                                  EncodeNewLink(event), server_fds);
  if (!told.ok()) {
    // The server does not take links: it is gone (or stuck). If it is the very connection
    // asking (it connects to its own service and does not read), nobody is left to answer.
    bool asking_is_server = target.connection == connection.fd.get();
    if (server != connections_.end()) CloseConnection(target.connection);
    if (asking_is_server) return;
    return Answer(connection, packet.sequence,
                  {.status = absl::UnavailableError(absl::StrFormat(
                       "the server of \"%s\" did not take the new link: %s", *name,
                       told.message()))});
  }
  LinkRecord& link = links_[id];
  link.service = *name;
  link.client = connection.peer;
  link.server = target.owner;
  link.created = absl::Now();
  link.options = target.options;
  link.region = std::move(made->region);
  for (int side : {0, 1}) {
    link.watch[side] = std::move(made->watch_kept[side]);
    watches_[link.watch[side].get()] = {id, side};
    Watch(link.watch[side].get(), EPOLLRDHUP);
  }
  ++counters_.links_made;
  int client_fds[] = {made->end_socket[0].get(), link.region.get(),
                      made->watch_for_end[0].get()};
  Answer(connection, packet.sequence,
         {.status = absl::OkStatus(), .link_id = id, .side = 0, .options = target.options},
         client_fds);
}

void Broker::OnWatchHangUp(int fd) {
  auto [id, side] = watches_[fd];
  watches_.erase(fd);
  Unwatch(fd);
  LinkRecord& link = links_[id];
  link.watch[side].Reset();
  link.closed[side] = true;
  ++counters_.ends_closed;
  if (!link.closed[1 - side]) {
    absl::StatusOr<int> written = AnswerForVanishedEnd(link.region.get(), link.options, side);
    if (written.ok()) counters_.synthetic_replies += *written;
  } else {
    links_.erase(id);
  }
}

void Broker::HandleList(Connection& connection, const ControlPacket& packet) {
  struct Answer answer;
  answer.listing.broker_pid = getpid();
  for (const auto& [name, service] : services_) {
    answer.listing.services.push_back(
        {name, service.owner, service.policy.Describe(service.owner.uid)});
  }
  absl::Time now = absl::Now();
  for (const auto& [id, link] : links_) {
    LinkListing& listed = answer.listing.links.emplace_back();
    listed.id = id;
    listed.service = link.service;
    listed.client = link.client;
    listed.server = link.server;
    listed.age_ns = absl::ToInt64Nanoseconds(now - link.created);
    for (int side : {0, 1}) {
      listed.closed[side] = link.closed[side];
      absl::StatusOr<std::vector<PendingRequestListing>> pending =
          ReadPendingRequests(link.region.get(), link.options, side);
      if (pending.ok()) listed.pending[side] = *std::move(pending);
    }
  }
  answer.listing.counters = counters_;
  answer.listing.counters.open_descriptors = OpenDescriptors();
  Answer(connection, packet.sequence, answer);
}

}  // namespace syslink::broker
