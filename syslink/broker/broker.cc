// The broker's life and loop: listening, accepting, reading control connections, closing
// them, and watching link ends. The control messages themselves are handled in
// broker_requests.cc.

#include "syslink/broker/broker.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/untrusted_descriptors.h"
#include "syslink/broker/internal/vanished_end.h"
#include "syslink/broker/paths.h"

namespace syslink::broker {

using internal::AnswerForVanishedEnd;
using internal::ControlPacket;
using internal::ReceiveControl;
using internal::SendControl;

namespace {

constexpr int kBacklog = 4096;
constexpr int kMaxEvents = 256;
// Connections accepted per wake-up at most. More may wait: the listener is level-triggered,
// so the next epoll_wait reports it again, after (or with) whatever else is ready by then.
// A client that connects and closes in a loop keeps the listener readable; without a bound
// the broker would accept for as long as it did, and serve nothing else.
constexpr int kAcceptsPerWakeUp = 64;
// The loop wakes at least this often: idle connections, and a paused listener.
constexpr absl::Duration kTick = absl::Seconds(1);
// An idle exit waits at least this long for the first connection: a broker started on
// demand must not leave before the client that started it (which waits as long by
// default, BrokerConnectOptions::timeout) has reached it.
constexpr absl::Duration kFirstConnectionGrace = absl::Seconds(10);

// Lets the broker hold as many connections and links as the hard limit allows.
void RaiseDescriptorLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The supplementary groups of the peer of `fd`, as they were when it connected. An error
// when the kernel does not say: unknown groups must not pass for none.
absl::StatusOr<std::vector<gid_t>> PeerGroups(int fd) {
  std::vector<gid_t> groups(32);
  while (true) {
    socklen_t length = groups.size() * sizeof(gid_t);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
      groups.resize(length / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE || length / sizeof(gid_t) <= groups.size()) {
      return ErrnoStatus("getsockopt(SO_PEERGROUPS)");
    }
    groups.resize(length / sizeof(gid_t));
  }
}

}  // namespace

Broker::Broker(const BrokerOptions& options, NamePolicy names)
    : options_(options), names_(std::move(names)) {}

Broker::~Broker() = default;

absl::StatusOr<std::unique_ptr<Broker>> Broker::Start(const BrokerOptions& options) {
  if (options.socket_path.empty()) return absl::InvalidArgumentError("no broker socket path");
  if (options.socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker socket path is too long: ", options.socket_path));
  }
  NamePolicy names = NamePolicy::OwnerOnly(geteuid());
  if (!options.policy_path.empty()) {
    absl::StatusOr<NamePolicy> loaded = NamePolicy::Load(options.policy_path, geteuid());
    if (!loaded.ok()) return loaded.status();
    names = *std::move(loaded);
  }
  if (absl::Status s = PrepareSocketDirectory(options.socket_path); !s.ok()) return s;
  std::unique_ptr<Broker> broker(new Broker(options, std::move(names)));
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
  // Set before anyone can connect, so every connection has it from its first message.
  kernel_refuses_descriptors_ =
      options_.kernel_refuses_descriptors && RefuseDescriptors(listen_.get());
  if (!kernel_refuses_descriptors_ && !LabelEveryMessage(listen_.get())) {
    return ErrnoStatus("setsockopt SO_PASSCRED on the broker socket");
  }
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
  reserve_.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!epoll_.valid() || !stop_.valid()) return ErrnoStatus("epoll_create1/eventfd");
  if (!Watch(stop_.get(), EPOLLIN)) return ErrnoStatus("epoll_ctl");
  ResumeListening();
  if (!listening_) return ErrnoStatus("epoll_ctl");
  return absl::OkStatus();
}

bool Broker::Watch(int fd, uint32_t events) {
  struct epoll_event event = {};
  event.events = events;
  event.data.fd = fd;
  return epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) == 0;
}

void Broker::Unwatch(int fd) {
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  unwatched_since_wait_.insert(fd);
}

void Broker::PauseListening() {
  if (!listening_) return;
  Unwatch(listen_.get());
  listening_ = false;
  paused_at_ = absl::Now();
}

void Broker::ResumeListening() {
  if (listening_) return;
  if (!reserve_.valid()) reserve_.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  listening_ = Watch(listen_.get(), EPOLLIN);
}

void Broker::Stop() {
  uint64_t one = 1;
  if (write(stop_.get(), &one, sizeof(one)) < 0) {
    // The eventfd cannot be full: nothing to do.
  }
}

int Broker::NextTimeoutMs(absl::Time now) const {
  absl::Duration wait = kTick;
  for (const auto& [id, pending] : pending_) wait = std::min(wait, pending.expires - now);
  for (const auto& [name, awaited] : awaited_) wait = std::min(wait, awaited.expires - now);
  if (idle_since_ && options_.idle_exit != absl::InfiniteDuration()) {
    wait = std::min(wait, *idle_since_ + IdlePeriod() - now);
  }
  wait = std::max(wait, absl::ZeroDuration());
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
}

absl::Status Broker::Run() {
  struct epoll_event events[kMaxEvents];
  (void)IdleExitDue(absl::Now());  // idle from the start until someone connects
  while (true) {
    int n = epoll_wait(epoll_.get(), events, kMaxEvents, NextTimeoutMs(absl::Now()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("epoll_wait");
    }
    unwatched_since_wait_.clear();
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      // Handling an earlier event closed it (a connection whose answer failed, a server
      // dropped): the event is about what is gone, and the number may be reused by now.
      if (unwatched_since_wait_.contains(fd)) continue;
      if (fd == stop_.get()) {
        unlink(options_.socket_path.c_str());
        return absl::OkStatus();
      }
      if (fd == listen_.get()) {
        if (listening_) Accept();
      } else if (watches_.contains(fd)) {
        OnWatchHangUp(fd);
      } else if (connections_.contains(fd)) {
        OnConnectionReadable(fd);
      }
    }
    absl::Time now = absl::Now();
    ExpirePending(now);
    FailAwaited([now](const AwaitedConnect& a) { return a.expires <= now; },
                [this](const AwaitedConnect& a) {
                  return absl::NotFoundError(absl::StrFormat(
                      "no service \"%s\" was registered with the broker at %s within %s; is "
                      "its server running, and using the same broker socket?",
                      a.request.name, options_.socket_path,
                      absl::FormatDuration(absl::Milliseconds(
                          static_cast<int64_t>(a.request.wait_for_registration_ms)))));
                });
    CloseIdleConnections(now);
    if (!listening_ && now - paused_at_ >= kTick) ResumeListening();
    if (IdleExitDue(now)) {
      LeaveIdle();
      return absl::OkStatus();
    }
  }
}

bool Broker::IdleExitDue(absl::Time now) {
  const bool idle = services_.empty() && links_.empty() && pending_.empty() && awaited_.empty() &&
                    connections_.empty();
  if (!idle) {
    idle_since_.reset();
    return false;
  }
  if (!idle_since_) idle_since_ = now;
  return options_.idle_exit != absl::InfiniteDuration() && now - *idle_since_ >= IdlePeriod();
}

absl::Duration Broker::IdlePeriod() const {
  if (counters_.connections > 0) return options_.idle_exit;
  return std::max(options_.idle_exit, kFirstConnectionGrace);
}

void Broker::LeaveIdle() {
  // Unlinked first: from here on a client's connect fails at once (ENOENT), and it starts
  // a broker, which takes the lock as soon as it is let go below. A connection that
  // reached the socket before is still queued on the listener; closing the listener hangs
  // it up unanswered, and its client dials again.
  unlink(options_.socket_path.c_str());
  Unwatch(listen_.get());
  listening_ = false;
  listen_.Reset();
  lock_.Reset();
  exited_idle_ = true;
}

void Broker::Accept() {
  // Each pass takes a connection, or refuses one at the descriptor limit
  // (AcceptOutOfDescriptors): at the limit, too, the loop ends after kAcceptsPerWakeUp.
  for (int accepted = 0; accepted < kAcceptsPerWakeUp; ++accepted) {
    UniqueFd fd(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) {
      if ((errno == EMFILE || errno == ENFILE) && AcceptOutOfDescriptors(errno)) continue;
      return;  // EAGAIN, or a connection that went away before it was accepted
    }
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      Refuse(std::move(fd), absl::UnavailableError("SO_PEERCRED failed"));
      continue;
    }
    Credentials peer{credentials.pid, credentials.uid, credentials.gid};
    absl::StatusOr<std::vector<gid_t>> groups = PeerGroups(fd.get());
    if (!groups.ok()) {
      Refuse(std::move(fd), absl::UnavailableError(absl::StrCat(
                                "the broker cannot learn this client's supplementary groups: ",
                                groups.status().message())));
      continue;
    }
    bool limited = Limited(peer.uid);
    UidUsage& usage = Usage(peer);
    if (limited && usage.connections >= options_.limits.connections) {
      ++counters_.over_limit;
      Refuse(std::move(fd), absl::ResourceExhaustedError(absl::StrFormat(
                                "uid %d already has %d connections to the broker at %s, its "
                                "limit (syslinkd --max-connections-per-uid)",
                                peer.uid, usage.connections, options_.socket_path)));
      continue;
    }
    int raw = fd.get();
    if (!Watch(raw, EPOLLIN | EPOLLRDHUP)) {
      Refuse(std::move(fd), ErrnoStatus("epoll_ctl"));
      continue;
    }
    ++counters_.connections;
    ++usage.connections;
    Connection& connection = connections_[raw];
    connection.fd = std::move(fd);
    connection.peer = peer;
    connection.groups = *std::move(groups);
    connection.limited = limited;
    connection.last_activity = absl::Now();
  }
}

// Out of descriptors, with connections waiting: refuse one with the spare descriptor, so
// that the listener stops being readable without a descriptor ever freeing. Without a
// spare, stop listening until a descriptor frees (or the next tick). Returns whether to go
// on accepting.
bool Broker::AcceptOutOfDescriptors(int error) {
  ++counters_.out_of_descriptors;
  if (!reserve_.valid()) {
    PauseListening();
    return false;
  }
  reserve_.Reset();
  UniqueFd fd(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  const bool refused_one = fd.valid();
  const bool nothing_waits = !refused_one && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (refused_one) {
    Refuse(std::move(fd),
           absl::ResourceExhaustedError(absl::StrFormat(
               "the broker at %s is out of descriptors (%s, %d connections); try again "
               "when fewer are open",
               options_.socket_path, std::strerror(error), connections_.size())));
  }
  reserve_.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!reserve_.valid() || (!refused_one && !nothing_waits)) {
    PauseListening();
    return false;
  }
  return refused_one;
}

// Tells a connection why it is refused (an answer with sequence 0) and closes it.
void Broker::Refuse(UniqueFd fd, const absl::Status& why) {
  std::vector<std::byte> body = EncodeAnswer({.status = why});
  (void)SendControl(fd.get(), ControlType::kAnswer, 0, body, {});
  closer_.CloseConnection(std::move(fd), kernel_refuses_descriptors_);
}

bool Broker::Limited(uid_t uid) { return uid != 0 && uid != geteuid(); }

void Broker::CountLinkAgainst(LinkRecord& link, std::optional<uid_t> uid) {
  if (uid.has_value()) ++usage_[*uid].links;
  if (link.counted_uid.has_value()) {
    --usage_[*link.counted_uid].links;
    ReleaseUsage(*link.counted_uid);
  }
  link.counted_uid = uid;
}

void Broker::ReleaseUsage(uid_t uid) {
  auto it = usage_.find(uid);
  if (it == usage_.end()) return;
  const UidUsage& u = it->second;
  if (u.connections <= 0 && u.services <= 0 && u.pending_connects <= 0 && u.links <= 0) {
    usage_.erase(it);
  }
}

void Broker::CloseConnection(int fd, const std::string& why) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Connection connection = std::move(it->second);
  connections_.erase(it);
  Unwatch(fd);
  Usage(connection.peer).connections--;
  // Its own Connects are orphaned: their offers may still wait in their servers' sockets,
  // so they count against the client's uid until the server answers (and is told nothing
  // is made) or they expire. Forgotten, a client could queue offers without bound by
  // connecting and leaving, until a server's socket filled and the server was dropped.
  for (auto& [id, pending] : pending_) {
    if (pending.client == fd) pending.client = kNoClient;
  }
  FailAwaited([fd](const AwaitedConnect& a) { return a.client == fd; }, nullptr);
  for (const std::string& name : connection.services) {
    DropService(name, why);
  }
  ReleaseUsage(connection.peer.uid);
  closer_.CloseConnection(std::move(connection.fd), kernel_refuses_descriptors_);
  ResumeListening();  // a descriptor is free again
}

void Broker::CloseIdleConnections(absl::Time now) {
  std::vector<int> idle;
  for (const auto& [fd, connection] : connections_) {
    if (connection.services.empty() && now - connection.last_activity > options_.idle_timeout) {
      idle.push_back(fd);
    }
  }
  // A connection waiting for a service to register, or for the server's verdict on its
  // Connect (once the service registered after a long wait, say), is not idle.
  if (!idle.empty() && (!awaited_.empty() || !pending_.empty())) {
    std::erase_if(idle, [this](int fd) {
      auto waits = [fd](const auto& entry) { return entry.second.client == fd; };
      return std::any_of(awaited_.begin(), awaited_.end(), waits) ||
             std::any_of(pending_.begin(), pending_.end(), waits);
    });
  }
  for (int fd : idle) CloseConnection(fd);
}

void Broker::OnConnectionReadable(int fd) {
  if (!kernel_refuses_descriptors_) {
    // Looked at before it is taken: a message carrying descriptors must not be received
    // (or dropped) here.
    NextMessage next = PeekNextMessage(fd);
    if (next == NextMessage::kNothingYet) return;  // spurious wake-up
    if (next == NextMessage::kWithDescriptors) {
      ++counters_.descriptors_refused;
      ++counters_.malformed;
    }
    if (next != NextMessage::kPlain) return CloseConnection(fd);
  }
  bool carried_descriptors = false;
  absl::StatusOr<ControlPacket> packet =
      ReceiveControl(fd, absl::InfinitePast(), [&](std::vector<UniqueFd> fds) {
        carried_descriptors = true;
        closer_.Dispose(std::move(fds));
      });
  if (!packet.ok()) {
    if (absl::IsDeadlineExceeded(packet.status())) return;  // spurious wake-up
    if (carried_descriptors) ++counters_.descriptors_refused;
    if (absl::IsInvalidArgument(packet.status())) ++counters_.malformed;
    CloseConnection(fd);  // closed, reset, or not even framed: nothing to answer
    return;
  }
  connections_[fd].last_activity = absl::Now();
  switch (packet->type) {
    case ControlType::kRegister:
      return HandleRegister(fd, *packet);
    case ControlType::kUnregister:
      return HandleUnregister(fd, *packet);
    case ControlType::kConnect:
      return HandleConnect(fd, *packet);
    case ControlType::kAdmit:
      return HandleAdmit(fd, *packet);
    case ControlType::kList:
      return HandleList(fd, *packet);
    default:
      ++counters_.malformed;
      Answer(fd, packet->sequence,
             {.status = absl::InvalidArgumentError(absl::StrFormat(
                  "unknown control message type %d", static_cast<int>(packet->type)))});
  }
}

bool Broker::Answer(int fd, uint32_t sequence, const struct Answer& answer,
                    std::span<const int> fds) {
  std::vector<std::byte> body = EncodeAnswer(answer);
  absl::Status sent = SendControl(fd, ControlType::kAnswer, sequence, body, fds);
  // A client that does not take its answers (its socket buffer is full) is disconnected
  // rather than allowed to stall the broker.
  if (!sent.ok()) CloseConnection(fd);
  return sent.ok();
}

void Broker::OnWatchHangUp(int fd) {
  auto [id, side] = watches_[fd];
  watches_.erase(fd);
  Unwatch(fd);
  LinkRecord& link = links_[id];
  // What the end's holder sent there may hold descriptors: closed aside if so.
  closer_.CloseConnection(std::move(link.watch[side]), link.watch_refuses_descriptors[side]);
  link.closed[side] = true;
  ++counters_.ends_closed;
  if (!link.closed[1 - side]) {
    absl::StatusOr<int> written = AnswerForVanishedEnd(link.region.get(), link.options, side);
    if (written.ok()) counters_.synthetic_replies += *written;
    // Only the server keeps the link now: it counts against the server's uid.
    if (side == 0) {
      CountLinkAgainst(link,
                       Limited(link.server.uid) ? std::optional(link.server.uid) : std::nullopt);
    }
  } else {
    CountLinkAgainst(link, std::nullopt);
    links_.erase(id);
  }
  ResumeListening();
}

}  // namespace syslink::broker
