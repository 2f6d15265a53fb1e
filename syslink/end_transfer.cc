#include "syslink/end_transfer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/fd_passing.h"
#include "base/unique_fd.h"
#include "syslink/internal/link_core.h"
#include "syslink/internal/link_layout.h"

namespace syslink {
namespace {

constexpr uint32_t kTicketMagic = 0x454b4c53;  // "SLKE"
constexpr uint32_t kTicketVersion = 1;
constexpr absl::string_view kTokenPrefix = "syslink-end-v1";

// What travels beside the two descriptors: which end, and the options both ends share.
struct EndTicket {
  uint32_t magic;
  uint32_t version;
  uint32_t side;
  uint32_t wait_mode;
  uint64_t ring_capacity;
  uint64_t arena_size;
  uint64_t max_dma_size;
  int64_t spin_budget_ns;
};
static_assert(sizeof(EndTicket) == 48);

EndTicket TicketFor(const internal::LinkCore& core) {
  const LinkOptions& o = core.options();
  return EndTicket{kTicketMagic,
                   kTicketVersion,
                   static_cast<uint32_t>(core.side()),
                   static_cast<uint32_t>(o.wait.mode),
                   o.ring_capacity,
                   o.arena_size,
                   o.max_dma_size,
                   absl::ToInt64Nanoseconds(o.wait.spin_budget)};
}

absl::StatusOr<LinkOptions> OptionsFrom(const EndTicket& t) {
  if (t.magic != kTicketMagic || t.version != kTicketVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a syslink end description (magic 0x%08x, version %d)", t.magic, t.version));
  }
  if (t.side > 1) {
    return absl::InvalidArgumentError(absl::StrFormat("end side %d is not 0 or 1", t.side));
  }
  LinkOptions options;
  options.ring_capacity = t.ring_capacity;
  options.arena_size = t.arena_size;
  options.max_dma_size = t.max_dma_size;
  options.wait.mode = static_cast<ring::WaitMode>(t.wait_mode);
  options.wait.spin_budget = absl::Nanoseconds(t.spin_budget_ns);
  if (absl::Status s = ValidateLinkOptions(options); !s.ok()) return s;
  return options;
}

}  // namespace

// Reaches into Link for the functions above.
class LinkTransfer {
 public:
  static std::shared_ptr<internal::LinkCore>& Core(Link& link) { return link.core_; }
  static Link Wrap(std::shared_ptr<internal::LinkCore> core) { return Link(std::move(core)); }
};

namespace {

absl::Status SocketIsSeqpacket(int fd) {
  int type = 0;
  socklen_t length = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("the end's descriptor is not a socket: ",
                                                   ErrnoStatus("getsockopt").message()));
  }
  if (type != SOCK_SEQPACKET) {
    return absl::InvalidArgumentError("the end's socket is not SOCK_SEQPACKET");
  }
  return absl::OkStatus();
}

absl::StatusOr<Link> Assemble(UniqueFd socket, UniqueFd memory, UniqueFd watch,
                              const EndTicket& ticket) {
  absl::StatusOr<LinkOptions> options = OptionsFrom(ticket);
  if (!options.ok()) return options.status();
  return AdoptEndDescriptors(std::move(socket), std::move(memory), std::move(watch),
                             static_cast<int>(ticket.side), *options);
}

absl::Status SetCloseOnExec(int fd, bool close_on_exec) {
  if (fcntl(fd, F_SETFD, close_on_exec ? FD_CLOEXEC : 0) != 0) {
    return ErrnoStatus("fcntl(F_SETFD)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Link> AdoptEndDescriptors(UniqueFd socket, UniqueFd region, UniqueFd watch, int side,
                                         const LinkOptions& options) {
  if (absl::Status s = ValidateLinkOptions(options); !s.ok()) return s;
  if (side != 0 && side != 1) {
    return absl::InvalidArgumentError(absl::StrFormat("end side %d is not 0 or 1", side));
  }
  if (absl::Status s = SocketIsSeqpacket(socket.get()); !s.ok()) return s;
  int flags = fcntl(socket.get(), F_GETFL);
  if (flags < 0 || fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus("fcntl(O_NONBLOCK) on a received end");
  }
  internal::LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> mapped =
      ring::SharedRegion::Map(std::move(region), layout.total_size, layout.hot_bytes());
  if (!mapped.ok()) return mapped.status();
  absl::StatusOr<std::shared_ptr<internal::LinkCore>> core = internal::LinkCore::Open(
      std::move(socket), *std::move(mapped), side, options, std::move(watch));
  if (!core.ok()) return core.status();
  return LinkTransfer::Wrap(*std::move(core));
}

absl::Status SendEnd(int socket, Link end) {
  std::shared_ptr<internal::LinkCore>& core = LinkTransfer::Core(end);
  if (!core) return absl::FailedPreconditionError("this Link holds no end");
  if (absl::Status s = core->CheckQuiescent(); !s.ok()) return s;
  EndTicket ticket = TicketFor(*core);
  internal::LinkCore::HandOver handed = core->TakeDescriptors();
  int fds[3] = {handed.socket.get(), core->region().fd(), handed.watch.get()};
  size_t fd_count = handed.watch.valid() ? 3 : 2;
  absl::Status sent =
      SendWithDescriptors(socket, {std::as_bytes(std::span(&ticket, 1))}, std::span(fds, fd_count));
  if (!sent.ok()) return sent;
  return absl::OkStatus();  // the receiver holds the end now; our copies close here
}

absl::StatusOr<Link> ReceiveEnd(int socket, absl::Time deadline) {
  if (absl::Status s = AwaitReadable(socket, deadline); !s.ok()) {
    if (absl::IsDeadlineExceeded(s)) {
      return absl::DeadlineExceededError("no link end arrived before the deadline");
    }
    return s;
  }
  EndTicket ticket{};
  absl::StatusOr<ReceivedMessage> received =
      ReceiveWithDescriptors(socket, std::as_writable_bytes(std::span(&ticket, 1)));
  if (!received.ok()) return received.status();
  std::vector<UniqueFd>& fds = received->fds;  // owned: closed unless handed on
  if (received->bytes == 0) {
    return absl::UnavailableError("the socket closed before a link end arrived");
  }
  if (received->bytes != sizeof(ticket) || received->truncated) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected a %d-byte link end description, got %d bytes%s", sizeof(ticket),
                        received->bytes, received->truncated ? " or more" : ""));
  }
  if (received->fds_truncated || fds.size() < 2 || fds.size() > 3) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a link end arrives with 2 or 3 descriptors, got %d%s", fds.size(),
                        received->fds_truncated ? " (truncated)" : ""));
  }
  UniqueFd watch = fds.size() == 3 ? std::move(fds[2]) : UniqueFd();
  return Assemble(std::move(fds[0]), std::move(fds[1]), std::move(watch), ticket);
}

absl::StatusOr<std::string> ReleaseForChild(Link end) {
  std::shared_ptr<internal::LinkCore>& core = LinkTransfer::Core(end);
  if (!core) return absl::FailedPreconditionError("this Link holds no end");
  if (absl::Status s = core->CheckQuiescent(); !s.ok()) return s;
  UniqueFd memory(dup(core->region().fd()));  // dup() clears close-on-exec
  if (!memory.valid()) return ErrnoStatus("dup of a link region");
  EndTicket t = TicketFor(*core);
  internal::LinkCore::HandOver handed = core->TakeDescriptors();
  for (const UniqueFd* fd : {&handed.socket, &handed.watch}) {
    if (!fd->valid()) continue;
    if (absl::Status s = SetCloseOnExec(fd->get(), false); !s.ok()) return s;
  }
  return absl::StrFormat("%s:%d:%d:%d:%d:%d:%d:%d:%d:%d", kTokenPrefix, handed.socket.Release(),
                         memory.Release(), handed.watch.valid() ? handed.watch.Release() : -1,
                         t.side, t.wait_mode, t.ring_capacity, t.arena_size, t.max_dma_size,
                         t.spin_budget_ns);
}

namespace {

// The parts of a token: prefix, socket, memory, watch (-1: none), then the ticket's fields.
absl::StatusOr<std::vector<int64_t>> ParseToken(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, ':');
  if (parts.size() != 10 || parts[0] != kTokenPrefix) {
    return absl::InvalidArgumentError(absl::StrCat("not a link end token (expected ", kTokenPrefix,
                                                   ":<9 numbers>): \"", token, "\""));
  }
  std::vector<int64_t> numbers;
  for (size_t i = 1; i < parts.size(); ++i) {
    int64_t n;
    bool may_be_negative = i == 3 || i == 9;  // no watch socket; the spin budget
    if (!absl::SimpleAtoi(parts[i], &n) || (!may_be_negative && n < 0) || (i == 3 && n < -1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("link end token field ", i, " is not a number: \"", parts[i], "\""));
    }
    numbers.push_back(n);
  }
  return numbers;
}

}  // namespace

absl::StatusOr<Link> AdoptEnd(absl::string_view token) {
  absl::StatusOr<std::vector<int64_t>> n = ParseToken(token);
  if (!n.ok()) return n.status();
  UniqueFd socket(static_cast<int>((*n)[0])), memory(static_cast<int>((*n)[1])),
      watch(static_cast<int>((*n)[2]));
  for (UniqueFd* fd : {&socket, &memory, &watch}) {
    if (fd == &watch && !watch.valid()) continue;
    if (fcntl(fd->get(), F_GETFD) < 0) {
      for (UniqueFd* other : {&socket, &memory, &watch}) (void)other->Release();  // not ours
      return absl::InvalidArgumentError(absl::StrCat("the descriptors named by link end token \"",
                                                     token, "\" are not open here"));
    }
    if (absl::Status s = SetCloseOnExec(fd->get(), true); !s.ok()) return s;
  }
  EndTicket ticket{kTicketMagic,
                   kTicketVersion,
                   static_cast<uint32_t>((*n)[3]),
                   static_cast<uint32_t>((*n)[4]),
                   static_cast<uint64_t>((*n)[5]),
                   static_cast<uint64_t>((*n)[6]),
                   static_cast<uint64_t>((*n)[7]),
                   (*n)[8]};
  return Assemble(std::move(socket), std::move(memory), std::move(watch), ticket);
}

void CloseReleasedEnd(absl::string_view token) {
  absl::StatusOr<std::vector<int64_t>> n = ParseToken(token);
  if (!n.ok()) return;
  for (int i : {0, 1, 2}) {
    if ((*n)[i] >= 0) close(static_cast<int>((*n)[i]));
  }
}

}  // namespace syslink
