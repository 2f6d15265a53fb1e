#include "syslink/broker/client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "syslink/broker/embedded_broker.h"
#include "syslink/broker/internal/control_socket.h"
#include "syslink/broker/paths.h"
#include "syslink/end_transfer.h"

extern char** environ;

namespace syslink::broker {

using internal::ControlPacket;
using internal::ReceiveControl;
using internal::SendControl;

namespace {

absl::StatusOr<std::string> SocketPathFor(const BrokerConnectOptions& options) {
  if (!options.socket_path.empty()) return AbsoluteSocketPath(options.socket_path);
  return BrokerSocketPath();
}

std::vector<uid_t> TrustedBrokerUids(const BrokerConnectOptions& options) {
  std::vector<uid_t> trusted = {geteuid(), 0};
  if (options.broker_uid) trusted.push_back(*options.broker_uid);
  return trusted;
}

// One try at connecting to the broker at `path`: UNAVAILABLE while nobody listens there
// (worth waiting for, or starting a broker); anything else is final.
absl::StatusOr<UniqueFd> DialOnce(const std::string& path, std::span<const uid_t> trusted) {
  absl::StatusOr<UniqueFd> directory = OpenBrokerDirectory(path, trusted);
  if (!directory.ok()) {
    if (absl::IsNotFound(directory.status())) {
      return absl::UnavailableError(directory.status().message());
    }
    return directory.status();
  }
  // Through the directory just checked, whatever is renamed meanwhile.
  std::string via =
      absl::StrCat("/proc/self/fd/", directory->get(), "/", path.substr(path.rfind('/') + 1));
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (via.size() >= sizeof(address.sun_path)) via = path;
  std::strncpy(address.sun_path, via.c_str(), sizeof(address.sun_path) - 1);
  // Connected without blocking: a broker that does not accept (stuck, or its backlog full)
  // would keep a blocking connect() waiting past any deadline. EAGAIN is retried as the
  // caller's deadline allows; the socket blocks again once connected.
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ErrnoStatus("socket to reach the broker");
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    if (error == EAGAIN) {
      return absl::UnavailableError(
          "connect: a broker listens there but takes no connection (its backlog is full)");
    }
    if (error == ENOENT || error == ECONNREFUSED || error == EINTR) {
      return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(error)));
    }
    return ErrnoStatus(absl::StrCat("connect to the broker at ", path), error);
  }
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return ErrnoStatus("making the broker connection blocking");
  }
  struct ucred broker;
  socklen_t length = sizeof(broker);
  if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &broker, &length) != 0) {
    return ErrnoStatus(absl::StrCat("SO_PEERCRED of the broker at ", path));
  }
  if (std::find(trusted.begin(), trusted.end(), broker.uid) == trusted.end()) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "refusing the broker at %s: it runs as uid %d (pid %d), not as this user (uid %d) "
        "or root%s; a broker of another user would see every service and link of this one",
        path, broker.uid, broker.pid, geteuid(),
        trusted.size() > 2 ? absl::StrCat(" or uid ", trusted[2], " (broker_uid)") : ""));
  }
  return fd;
}

// While no broker answers, a broker is started again this long after the last one: that
// one may have lost the socket's lock to a broker that was just then exiting when idle.
constexpr absl::Duration kStartAgainAfter = absl::Seconds(1);

// How many times a request goes again after the broker hung up without answering it.
constexpr int kHangUpRetries = 3;

// A connection to a trusted broker at `path`, starting a broker when none answers (if
// allowed), and retrying until `deadline`.
absl::StatusOr<UniqueFd> Dial(const std::string& path, const BrokerConnectOptions& options,
                              absl::Time deadline) {
  std::vector<uid_t> trusted = TrustedBrokerUids(options);
  bool started = false;
  absl::Time start_again = absl::InfiniteFuture();
  absl::Duration backoff = absl::Milliseconds(1);
  while (true) {
    absl::StatusOr<UniqueFd> fd = DialOnce(path, trusted);
    if (fd.ok() || !absl::IsUnavailable(fd.status())) return fd;
    if (options.start_broker && (!started || absl::Now() >= start_again)) {
      // The broker refuses an unsafe socket directory and exits at once, with its stderr on
      // /dev/null: check first, so the caller learns why instead of waiting out a timeout.
      if (absl::Status s = PrepareSocketDirectory(path); !s.ok()) {
        return absl::Status(s.code(),
                            absl::StrCat("cannot start a broker for ", path, ": ", s.message()));
      }
      if (absl::Status s = StartBroker(path, options.started_broker_idle_exit); !s.ok()) {
        return s;
      }
      started = true;
      start_again = absl::Now() + kStartAgainAfter;
    }
    if (absl::Now() + backoff > deadline) {
      return absl::UnavailableError(absl::StrFormat(
          "no broker answers at %s (%s)%s", path, fd.status().message(),
          options.start_broker ? ", and the one this process started did not come up in time"
                               : "; start one (syslinkd --socket PATH) or allow the library to"));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
}

// The status of a notice (an answer with sequence 0: the broker refuses this connection),
// if `packet` is one.
std::optional<absl::Status> Notice(const ControlPacket& packet) {
  if (packet.type != ControlType::kAnswer || packet.sequence != 0) return std::nullopt;
  absl::StatusOr<Answer> answer = DecodeAnswer(packet.body);
  if (!answer.ok()) return answer.status();
  return answer->status;
}

// Sends a request and waits for its answer. `hung_up` tells whether the broker closed the
// connection with no answer and no notice: it never took the request.
// Waits until the broker's socket `fd` is readable (OK), `cancel_fd` is (CANCELLED) or
// `deadline` passes (OK: the read that follows reports it).
absl::Status AwaitAnswerOrCancel(int fd, int cancel_fd, absl::Time deadline) {
  while (true) {
    struct pollfd fds[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
    int timeout = -1;
    if (deadline != absl::InfiniteFuture()) {
      absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
      timeout = static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT32_MAX));
    }
    int n = poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("poll on the broker's socket");
    if (fds[1].revents != 0 && fds[0].revents == 0) {
      return absl::CancelledError("the connect was cancelled while it waited for the broker");
    }
    return absl::OkStatus();
  }
}

absl::StatusOr<ControlPacket> Exchange(int fd, ControlType type, uint32_t sequence,
                                       const std::vector<std::byte>& body, absl::Time deadline,
                                       bool* hung_up, int cancel_fd = -1) {
  *hung_up = false;
  if (absl::Status s = SendControl(fd, type, sequence, body, {}); !s.ok()) {
    // Refused before it could ask: the broker's notice may be waiting.
    absl::StatusOr<ControlPacket> packet = ReceiveControl(fd, absl::InfinitePast());
    if (packet.ok()) {
      if (std::optional<absl::Status> notice = Notice(*packet)) return *notice;
    }
    *hung_up = absl::IsUnavailable(s);
    return s;
  }
  while (true) {
    if (cancel_fd >= 0) {
      if (absl::Status s = AwaitAnswerOrCancel(fd, cancel_fd, deadline); !s.ok()) return s;
    }
    absl::StatusOr<ControlPacket> packet = ReceiveControl(fd, deadline);
    if (!packet.ok()) {
      *hung_up = absl::IsUnavailable(packet.status());
      return packet.status();
    }
    if (std::optional<absl::Status> notice = Notice(*packet)) {
      if (notice->ok()) return absl::InternalError("the broker sent an empty notice");
      return *notice;
    }
    if (packet->type == ControlType::kAnswer && packet->sequence == sequence) return packet;
  }
}

// The pid of the process at the other end of `fd` (SO_PEERCRED), or 0.
pid_t PeerPid(int fd) {
  struct ucred peer;
  socklen_t length = sizeof(peer);
  return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 ? peer.pid : 0;
}

// A request and the connection that carried it, once answered.
struct Answered {
  UniqueFd connection;
  ControlPacket packet;
};

// Dials the broker at `path` (starting one if allowed) and sends one request. A broker
// that hangs up without answering never took it (it was exiting when idle, or died), so
// it goes again on a new connection, a few times, before `deadline`. One that hangs up
// every time is most likely of another build: it closes a connection whose messages have
// another protocol version, and the caller is told which process it is.
absl::StatusOr<Answered> Request(const std::string& path, const BrokerConnectOptions& options,
                                 ControlType type, uint32_t sequence,
                                 const std::vector<std::byte>& body, absl::Time deadline) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<UniqueFd> broker = Dial(path, options, deadline);
    if (!broker.ok()) return broker.status();
    bool hung_up = false;
    absl::StatusOr<ControlPacket> packet =
        Exchange(broker->get(), type, sequence, body, deadline, &hung_up, options.cancel_fd);
    if (packet.ok()) return Answered{*std::move(broker), *std::move(packet)};
    if (!hung_up || absl::Now() >= deadline) return packet.status();
    if (attempt == kHangUpRetries) {
      const pid_t pid = PeerPid(broker->get());
      return absl::UnavailableError(absl::StrFormat(
          "the broker at %s (pid %d) hung up %d times without answering; it is probably of "
          "another build, which speaks another version of the control protocol than this "
          "program's (%d). Stop it (kill %d) and a broker of this build starts on demand",
          path, pid, kHangUpRetries + 1, kControlVersion, pid));
    }
  }
}

// The end named by an answer or event and the descriptors that came with it.
absl::StatusOr<Link> EndFrom(std::vector<UniqueFd>& fds, uint32_t side,
                             const LinkOptions& options) {
  if (fds.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the broker sent %d descriptors with a link end, expected 3", fds.size()));
  }
  return AdoptEndDescriptors(std::move(fds[0]), std::move(fds[1]), std::move(fds[2]),
                             static_cast<int>(side), options);
}

// The listing the broker wrote into `file`, `bytes` long.
absl::StatusOr<Listing> ReadListing(const std::vector<UniqueFd>& fds, uint64_t bytes) {
  struct stat st;
  if (fds.size() != 1 || fstat(fds[0].get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) != bytes) {
    return absl::InvalidArgumentError("the broker's listing did not come in a file of its size");
  }
  std::vector<std::byte> content(bytes);
  size_t read_so_far = 0;
  while (read_so_far < bytes) {
    ssize_t n = pread(fds[0].get(), content.data() + read_so_far, bytes - read_so_far,
                      static_cast<off_t>(read_so_far));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("reading the broker's listing");
    read_so_far += static_cast<size_t>(n);
  }
  return DecodeListing(content);
}

// The syslinkd StartBroker() runs beside this program (see client.h), or "" when it
// re-executes this program instead.
std::string InstalledSyslinkd() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return "";
  // A program whose file was deleted reads as "/dir/name (deleted)": its directory is
  // still the place to look.
  std::string program(exe, static_cast<size_t>(n));
  size_t slash = program.rfind('/');
  if (slash == std::string::npos) return "";
  std::string candidate = program.substr(0, slash + 1) + "syslinkd";
  struct stat found, self;
  if (stat(candidate.c_str(), &found) != 0 || !S_ISREG(found.st_mode) ||
      access(candidate.c_str(), X_OK) != 0) {
    return "";
  }
  // Run only what this user or root put there, and nobody else could change.
  if ((found.st_uid != geteuid() && found.st_uid != 0) || (found.st_mode & 0022) != 0) {
    return "";
  }
  // This program is itself that syslinkd: re-executing it is the same.
  if (stat("/proc/self/exe", &self) == 0 && self.st_dev == found.st_dev &&
      self.st_ino == found.st_ino) {
    return "";
  }
  return candidate;
}

}  // namespace

absl::StatusOr<OutgoingLink> ConnectToServiceIdentified(const std::string& name,
                                                        const BrokerConnectOptions& options) {
  if (absl::Status s = CheckServiceName(name); !s.ok()) return s;
  absl::StatusOr<std::string> path = SocketPathFor(options);
  if (!path.ok()) return path.status();
  if (options.wait_for_registration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("BrokerConnectOptions::wait_for_registration is negative (%s)",
                        absl::FormatDuration(options.wait_for_registration)));
  }
  const absl::Time deadline = absl::Now() + options.timeout + options.wait_for_registration;
  ConnectRequest request{name, options.server_uid, options.server_gid, options.max_ring_capacity,
                         options.max_arena_size};
  request.wait_for_registration_ms =
      options.wait_for_registration == absl::InfiniteDuration()
          ? UINT64_MAX
          : static_cast<uint64_t>(absl::ToInt64Milliseconds(
                absl::Ceil(options.wait_for_registration, absl::Milliseconds(1))));
  absl::StatusOr<Answered> answered =
      Request(*path, options, ControlType::kConnect, 1, EncodeConnect(request), deadline);
  if (!answered.ok()) return answered.status();
  ControlPacket* packet = &answered->packet;
  absl::StatusOr<Answer> answer = DecodeAnswer(packet->body);
  if (!answer.ok()) return answer.status();
  if (!answer->status.ok()) return answer->status;
  // The broker checked these; a broker of an older version may not have. Nothing is mapped
  // before they hold.
  if (answer->options.ring_capacity > options.max_ring_capacity ||
      answer->options.arena_size > options.max_arena_size) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "service \"%s\" makes links with rings of %d bytes and arenas of %d bytes; this "
        "client accepts at most %d and %d (BrokerConnectOptions::max_ring_capacity, "
        "max_arena_size)",
        name, answer->options.ring_capacity, answer->options.arena_size, options.max_ring_capacity,
        options.max_arena_size));
  }
  if (options.server_uid && answer->peer.uid != *options.server_uid) {
    return absl::PermissionDeniedError(
        absl::StrFormat("service \"%s\" is served by uid %d, not by uid %d as this client requires",
                        name, answer->peer.uid, *options.server_uid));
  }
  absl::StatusOr<Link> link = EndFrom(packet->fds, answer->side, answer->options);
  if (!link.ok()) return link.status();
  return OutgoingLink{*std::move(link), answer->peer, answer->link_id};
}

absl::StatusOr<Link> ConnectToService(const std::string& name,
                                      const BrokerConnectOptions& options) {
  absl::StatusOr<OutgoingLink> connected = ConnectToServiceIdentified(name, options);
  if (!connected.ok()) return connected.status();
  return std::move(connected->link);
}

absl::StatusOr<Listing> ListBroker(const BrokerConnectOptions& options) {
  absl::StatusOr<std::string> path = SocketPathFor(options);
  if (!path.ok()) return path.status();
  absl::Time deadline = absl::Now() + options.timeout;
  absl::StatusOr<Answered> answered = Request(*path, options, ControlType::kList, 1, {}, deadline);
  if (!answered.ok()) return answered.status();
  absl::StatusOr<Answer> answer = DecodeAnswer(answered->packet.body);
  if (!answer.ok()) return answer.status();
  if (!answer->status.ok()) return answer->status;
  return ReadListing(answered->packet.fds, answer->listing_bytes);
}

absl::StatusOr<ServiceRegistration> ServiceRegistration::Register(
    const std::string& name, const AccessPolicy& policy, const LinkOptions& link_options,
    const BrokerConnectOptions& options) {
  return Register(RegisterRequest{name, policy, link_options, {}}, options);
}

absl::StatusOr<ServiceRegistration> ServiceRegistration::Register(
    RegisterRequest request, const BrokerConnectOptions& options) {
  if (absl::Status s = CheckServiceName(request.name); !s.ok()) return s;
  if (absl::Status s = ValidateLinkOptions(request.options); !s.ok()) return s;
  if (absl::Status s = CheckMethodTable(request.methods); !s.ok()) {
    return absl::Status(s.code(), absl::StrFormat("service \"%s\": %s", request.name, s.message()));
  }
  ServiceRegistration registration(std::move(request), options);
  if (absl::Status s = registration.Reconnect(absl::Now() + options.timeout); !s.ok()) return s;
  return registration;
}

absl::Status ServiceRegistration::Reconnect(absl::Time deadline) {
  connection_.Reset();
  absl::StatusOr<std::string> path = SocketPathFor(options_);
  if (!path.ok()) return path.status();
  absl::StatusOr<Answered> answered = Request(*path, options_, ControlType::kRegister, ++sequence_,
                                              EncodeRegister(request_), deadline);
  if (!answered.ok()) return answered.status();
  absl::StatusOr<Answer> answer = DecodeAnswer(answered->packet.body);
  if (!answer.ok()) return answer.status();
  if (!answer->status.ok()) return answer->status;
  connection_ = std::move(answered->connection);
  return absl::OkStatus();
}

void ServiceRegistration::AnswerOffer(const ControlPacket& offer) {
  absl::StatusOr<NewLinkEvent> event = DecodeNewLink(offer.body);
  if (!event.ok()) return;  // nothing to answer: the broker expires it
  absl::Status verdict = admit_ ? admit_() : absl::OkStatus();
  absl::Status sent = SendControl(connection_.get(), ControlType::kAdmit, ++sequence_,
                                  EncodeAdmit({event->link_id, verdict}), {});
  if (!sent.ok()) connection_.Reset();  // the broker is gone: the next Accept reconnects
}

absl::StatusOr<IncomingLink> ServiceRegistration::Accept(absl::Time deadline) {
  while (true) {
    if (!connection_.valid()) {
      // The broker went away: find (or start) a new one and register again.
      absl::Time by = std::min(deadline, absl::Now() + options_.timeout);
      if (absl::Status s = Reconnect(by); !s.ok()) return s;
    }
    absl::StatusOr<ControlPacket> packet = ReceiveControl(connection_.get(), deadline);
    if (!packet.ok()) {
      if (absl::IsDeadlineExceeded(packet.status())) return packet.status();
      connection_.Reset();
      continue;
    }
    if (packet->type == ControlType::kOffer) {
      AnswerOffer(*packet);
      continue;
    }
    if (packet->type != ControlType::kNewLink) continue;  // e.g. an answer to a bad verdict
    absl::StatusOr<NewLinkEvent> event = DecodeNewLink(packet->body);
    if (!event.ok()) return event.status();
    absl::StatusOr<Link> link = EndFrom(packet->fds, event->side, event->options);
    if (!link.ok()) return link.status();
    return IncomingLink{*std::move(link), event->client, event->link_id,
                        std::move(event->client_groups)};
  }
}

absl::Status StartBroker(const std::string& socket_path, absl::Duration idle_exit) {
  // Everything the child needs is built here: between fork() and exec() it may only make
  // async-signal-safe calls.
  const std::string installed = InstalledSyslinkd();
  // A privileged program ignores kEmbeddedBrokerEnv (embedded_broker.h): re-executed, it
  // would run its own main() with syslinkd's command line.
  if (installed.empty() && getauxval(AT_SECURE) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no broker answers at ", socket_path,
        ", and this program, which runs setuid, setgid or with file capabilities, does not "
        "serve as one itself: start syslinkd, or install it beside this program"));
  }
  std::string marker = absl::StrCat(kEmbeddedBrokerEnv, "=", socket_path);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, kEmbeddedBrokerEnv, std::strlen(kEmbeddedBrokerEnv)) != 0) {
      envp.push_back(*e);
    }
  }
  envp.push_back(marker.data());
  envp.push_back(nullptr);
  // The same command line for either binary: ps shows what the broker was told.
  std::vector<std::string> args = {"syslinkd", "--socket", socket_path};
  if (idle_exit != absl::InfiniteDuration()) {
    args.push_back(absl::StrCat("--idle-exit=", absl::FormatDuration(idle_exit)));
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) return ErrnoStatus("fork to start syslinkd");
  if (child == 0) {
    setsid();  // not in the caller's session or process group
    pid_t grandchild = fork();
    if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    // Nothing of the caller's may stay open in the broker: it would keep link ends alive.
    close_range(3, ~0U, 0);
    if (chdir("/") != 0) _exit(126);
    // A caller that blocks or ignores SIGTERM and SIGINT (to sigwait() for them) must not
    // hand that on through exec: the broker stops on them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (!installed.empty()) execve(installed.c_str(), argv.data(), envp.data());
    // /proc/self/exe is the file this program was started from, even deleted or replaced.
    execve("/proc/self/exe", argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnavailableError("could not start syslinkd (fork failed)");
  }
  return absl::OkStatus();
}

}  // namespace syslink::broker
