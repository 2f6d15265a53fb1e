// The broker's control messages: registering names, connecting (offer, the server's
// verdict, the link), and the listing. See broker.h for the loop around them.

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/untrusted_descriptors.h"
#include "syslink/broker/broker.h"
#include "syslink/broker/internal/link_factory.h"
#include "syslink/broker/internal/vanished_end.h"

namespace syslink::broker {

using internal::ControlPacket;
using internal::LinkResources;
using internal::MakeLinkResources;
using internal::ReadPendingRequests;
using internal::SendControl;

namespace {

uint64_t OpenDescriptors() {
  std::error_code error;
  uint64_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

std::string Bytes(uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return absl::StrCat(n >> 20, " MiB");
  if (n >= 1024 && n % 1024 == 0) return absl::StrCat(n >> 10, " KiB");
  return absl::StrCat(n, " bytes");
}

// The listing in a sealed memfd: no socket buffer limits its size.
absl::StatusOr<UniqueFd> ListingFile(const std::vector<std::byte>& bytes) {
  UniqueFd fd(memfd_create("syslink-listing", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return ErrnoStatus("memfd_create for the listing");
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("writing the listing");
    written += static_cast<size_t>(n);
  }
  fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

// Why a server did not take what the broker sent it, in words: a full connection means a
// process that does not read (stopped with SIGSTOP, or stuck), which errno would call
// "Resource temporarily unavailable".
std::string NotReading(const absl::Status& sent) {
  if (absl::IsUnavailable(sent)) return "closed its connection to the broker";
  if (absl::IsResourceExhausted(sent)) {
    return "does not read its connection to the broker, which is full (the process is "
           "stopped or stuck); the broker dropped its registration";
  }
  return absl::StrCat("could not be sent to (", sent.message(),
                      "); the broker dropped its registration");
}

}  // namespace

void Broker::DropUnreadServer(int server, const absl::Status& sent) {
  CloseConnection(server, absl::StrCat("it ", NotReading(sent)));
}

void Broker::HandleRegister(int fd, const ControlPacket& packet) {
  absl::StatusOr<RegisterRequest> request = DecodeRegister(packet.body);
  if (!request.ok()) {
    ++counters_.malformed;
    Answer(fd, packet.sequence, {.status = request.status()});
    return;
  }
  Connection& connection = connections_[fd];
  if (absl::Status s = names_.MayRegister(request->name, connection.peer, connection.groups);
      !s.ok()) {
    ++counters_.names_refused;
    Answer(fd, packet.sequence, {.status = s});
    return;
  }
  if (auto it = services_.find(request->name); it != services_.end()) {
    Answer(fd, packet.sequence,
           {.status = absl::AlreadyExistsError(
                absl::StrFormat("service \"%s\" is already registered by pid %d (uid %d)",
                                request->name, it->second.owner.pid, it->second.owner.uid))});
    return;
  }
  UidUsage& usage = Usage(connection.peer);
  if (OverLimit(fd, packet.sequence, connection, usage.services, options_.limits.services,
                "services registered with", "max-services-per-uid")) {
    return;
  }
  ++usage.services;
  auto methods = std::make_shared<MethodTable>();
  for (MethodName& m : request->methods) methods->emplace(m.id, std::move(m.name));
  services_[request->name] = {fd,
                              connection.peer,
                              connection.groups,
                              request->policy,
                              request->options,
                              std::move(methods)};
  connection.services.push_back(request->name);
  ++counters_.registrations;
  if (!Answer(fd, packet.sequence, {.status = absl::OkStatus()})) return;
  ServeAwaited(request->name);
}

void Broker::HandleUnregister(int fd, const ControlPacket& packet) {
  absl::StatusOr<std::string> name = DecodeName(packet.body);
  if (!name.ok()) {
    ++counters_.malformed;
    Answer(fd, packet.sequence, {.status = name.status()});
    return;
  }
  std::vector<std::string>& services = connections_[fd].services;
  auto it = std::find(services.begin(), services.end(), *name);
  if (it == services.end()) {
    Answer(fd, packet.sequence,
           {.status = absl::NotFoundError(
                absl::StrFormat("this connection has not registered service \"%s\"", *name))});
    return;
  }
  services.erase(it);
  DropService(*name, "its server unregistered it");
  Answer(fd, packet.sequence, {.status = absl::OkStatus()});
}

void Broker::DropService(const std::string& name, const std::string& why) {
  auto it = services_.find(name);
  if (it == services_.end()) return;
  int server = it->second.connection;
  Credentials owner = it->second.owner;
  services_.erase(it);
  UidUsage& usage = Usage(owner);
  --usage.services;
  ReleaseUsage(owner.uid);
  FailPending([&](const PendingConnect& p) { return p.server == server && p.service == name; },
              [&](const PendingConnect& p) {
                return absl::UnavailableError(absl::StrFormat(
                    "the server of \"%s\" (pid %d) went away before it admitted the link: %s",
                    p.service, p.server_peer.pid, why));
              });
}

template <typename Map, typename Entry>
void Broker::FailWaiting(Map& waiting, const std::function<bool(const Entry&)>& match,
                         const std::function<absl::Status(const Entry&)>& status) {
  std::vector<Entry> failed;
  for (auto it = waiting.begin(); it != waiting.end();) {
    if (!match(it->second)) {
      ++it;
      continue;
    }
    failed.push_back(std::move(it->second));
    it = waiting.erase(it);
  }
  for (Entry& entry : failed) {
    if (entry.limited) --Usage(entry.client_peer).pending_connects;
    ReleaseUsage(entry.client_peer.uid);
    if (status && connections_.contains(entry.client)) {
      Answer(entry.client, entry.sequence, {.status = status(entry)});
    }
  }
}

void Broker::FailPending(const std::function<bool(const PendingConnect&)>& match,
                         const std::function<absl::Status(const PendingConnect&)>& status) {
  FailWaiting(pending_, match, status);
}

void Broker::ExpirePending(absl::Time now) {
  FailPending([now](const PendingConnect& p) { return p.expires <= now; },
              [this](const PendingConnect& p) {
                return absl::UnavailableError(absl::StrFormat(
                    "the server of \"%s\" (pid %d) did not admit or refuse the link within "
                    "%s; it may be busy or stuck",
                    p.service, p.server_peer.pid, absl::FormatDuration(options_.accept_timeout)));
              });
}

absl::Status Broker::CheckConnect(const Connection& client, const ConnectRequest& request,
                                  const Service& target) const {
  const std::string& name = request.name;
  if (!target.policy.Allows(client.peer, target.owner.uid, client.groups)) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "uid %d (gid %d) may not connect to service \"%s\"; it admits %s", client.peer.uid,
        client.peer.gid, name, target.policy.Describe(target.owner.uid)));
  }
  if (request.server_uid && *request.server_uid != target.owner.uid) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "service \"%s\" is served by uid %d (pid %d), not by uid %d as this client requires", name,
        target.owner.uid, target.owner.pid, *request.server_uid));
  }
  if (request.server_gid && *request.server_gid != target.owner.gid &&
      std::count(target.owner_groups.begin(), target.owner_groups.end(), *request.server_gid) ==
          0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "service \"%s\" is served by uid %d (gid %d, pid %d), which is not in group %d as "
        "this client requires",
        name, target.owner.uid, target.owner.gid, target.owner.pid, *request.server_gid));
  }
  if (target.options.ring_capacity > request.max_ring_capacity) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "service \"%s\" makes links with rings of %s each way; this client accepts at most "
        "%s (BrokerConnectOptions::max_ring_capacity)",
        name, Bytes(target.options.ring_capacity), Bytes(request.max_ring_capacity)));
  }
  if (target.options.arena_size > request.max_arena_size) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "service \"%s\" makes links with DMA arenas of %s per end; this client accepts at "
        "most %s (BrokerConnectOptions::max_arena_size)",
        name, Bytes(target.options.arena_size), Bytes(request.max_arena_size)));
  }
  return absl::OkStatus();
}

void Broker::HandleConnect(int fd, const ControlPacket& packet) {
  absl::StatusOr<ConnectRequest> request = DecodeConnect(packet.body);
  if (!request.ok()) {
    ++counters_.malformed;
    Answer(fd, packet.sequence, {.status = request.status()});
    return;
  }
  if (!services_.contains(request->name) && request->wait_for_registration_ms > 0) {
    (void)Await(fd, packet.sequence, *request);
    return;
  }
  ConnectTo(fd, packet.sequence, *request);
}

bool Broker::OverLimit(int fd, uint32_t sequence, const Connection& connection, int count,
                       int limit, absl::string_view what, absl::string_view flag) {
  if (!connection.limited || count < limit) return false;
  ++counters_.over_limit;
  Answer(fd, sequence,
         {.status = absl::ResourceExhaustedError(absl::StrFormat(
              "uid %d already has %d %s the broker at %s, its limit (syslinkd --%s)",
              connection.peer.uid, count, what, options_.socket_path, flag))});
  return true;
}

bool Broker::Await(int fd, uint32_t sequence, const ConnectRequest& request) {
  const Connection& client = connections_[fd];
  UidUsage& usage = Usage(client.peer);
  if (OverLimit(fd, sequence, client, usage.pending_connects, options_.limits.pending_connects,
                "connects waiting at", "max-pending-connects-per-uid")) {
    return false;
  }
  const absl::Time expires =
      request.wait_for_registration_ms >= static_cast<uint64_t>(INT64_MAX)
          ? absl::InfiniteFuture()
          : absl::Now() +
                absl::Milliseconds(static_cast<int64_t>(request.wait_for_registration_ms));
  if (client.limited) ++usage.pending_connects;
  awaited_.emplace(request.name,
                   AwaitedConnect{request, fd, sequence, client.peer, client.limited, expires});
  return true;
}

void Broker::ServeAwaited(const std::string& name) {
  auto [begin, end] = awaited_.equal_range(name);
  std::vector<AwaitedConnect> ready;
  for (auto it = begin; it != end; ++it) ready.push_back(std::move(it->second));
  awaited_.erase(begin, end);
  for (AwaitedConnect& a : ready) {
    if (a.limited) --Usage(a.client_peer).pending_connects;
    ReleaseUsage(a.client_peer.uid);
    // The service may be gone again (its server did not read the first offer).
    if (connections_.contains(a.client)) ConnectTo(a.client, a.sequence, a.request);
  }
}

void Broker::FailAwaited(const std::function<bool(const AwaitedConnect&)>& match,
                         const std::function<absl::Status(const AwaitedConnect&)>& status) {
  FailWaiting(awaited_, match, status);
}

void Broker::ConnectTo(int fd, uint32_t sequence, const ConnectRequest& request) {
  auto service = services_.find(request.name);
  if (service == services_.end()) {
    ++counters_.not_found;
    Answer(fd, sequence,
           {.status = absl::NotFoundError(absl::StrFormat(
                "no service \"%s\" is registered with the broker at %s; is its server "
                "running, and using the same broker socket?",
                request.name, options_.socket_path))});
    return;
  }
  const Connection& client = connections_[fd];
  const Service& target = service->second;
  if (absl::Status s = CheckConnect(client, request, target); !s.ok()) {
    ++counters_.refused;
    Answer(fd, sequence, {.status = s});
    return;
  }
  UidUsage& usage = Usage(client.peer);
  // A link counts until both its ends are closed; one being made counts already.
  if (OverLimit(fd, sequence, client, usage.pending_connects, options_.limits.pending_connects,
                "connects waiting for their servers at", "max-pending-connects-per-uid") ||
      OverLimit(fd, sequence, client, usage.links + usage.pending_connects, options_.limits.links,
                "links made by", "max-links-per-uid")) {
    return;
  }
  // Links whose clients closed their ends count against the server's uid while it keeps
  // its own (CountLinkAgainst): a server that has used up its allowance so takes no more.
  if (auto server = connections_.find(target.connection);
      server != connections_.end() && server->second.limited &&
      server->second.peer.uid != client.peer.uid) {
    if (auto kept = usage_.find(target.owner.uid);
        kept != usage_.end() && kept->second.links >= options_.limits.links) {
      ++counters_.over_limit;
      Answer(fd, sequence,
             {.status = absl::ResourceExhaustedError(absl::StrFormat(
                  "the server of \"%s\" (uid %d) already holds %d links at the broker at %s, "
                  "its limit (syslinkd --max-links-per-uid): the ends it keeps after their "
                  "clients closed theirs count against it",
                  request.name, target.owner.uid, kept->second.links, options_.socket_path))});
      return;
    }
  }
  uint64_t id = next_link_id_++;
  int server = target.connection;
  PendingConnect pending{request.name,   fd,
                         sequence,       server,
                         client.peer,    client.groups,
                         target.owner,   client.limited,
                         target.options, absl::Now() + options_.accept_timeout,
                         target.methods};
  NewLinkEvent offer{request.name, client.peer, client.groups, id, 1, target.options};
  absl::Status told = SendControl(server, ControlType::kOffer, 0, EncodeNewLink(offer), {});
  if (!told.ok()) {
    // If the server is the very connection asking (it connects to its own service and does
    // not read), nobody is left to answer.
    std::string name = request.name;
    pid_t pid = target.owner.pid;
    DropUnreadServer(server, told);
    if (server == fd) return;
    Answer(fd, sequence,
           {.status = absl::UnavailableError(
                absl::StrFormat("the server of \"%s\" (pid %d) %s", name, pid, NotReading(told)))});
    return;
  }
  if (pending.limited) ++usage.pending_connects;
  pending_.emplace(id, std::move(pending));
}

void Broker::HandleAdmit(int fd, const ControlPacket& packet) {
  absl::StatusOr<AdmitRequest> verdict = DecodeAdmit(packet.body);
  if (!verdict.ok()) {
    ++counters_.malformed;
    Answer(fd, packet.sequence, {.status = verdict.status()});
    return;
  }
  auto it = pending_.find(verdict->link_id);
  // An offer that expired, whose client left, or that went to another connection: the
  // verdict finds nobody waiting, and nothing is made.
  if (it == pending_.end() || it->second.server != fd) return;
  PendingConnect pending = std::move(it->second);
  pending_.erase(it);
  if (pending.limited) --Usage(pending.client_peer).pending_connects;
  ReleaseUsage(pending.client_peer.uid);
  if (pending.client == kNoClient) return;  // it left: nothing is made, nobody answered
  if (verdict->status.ok()) return MakeLink(verdict->link_id, std::move(pending));
  ++counters_.refused_by_servers;
  absl::Status refusal = verdict->status;
  std::string quoted = absl::StrCat("\"", pending.service, "\"");
  if (!absl::StrContains(refusal.message(), quoted)) {
    refusal = absl::Status(refusal.code(), absl::StrFormat("the server of %s refused the link: %s",
                                                           quoted, refusal.message()));
  }
  Answer(pending.client, pending.sequence, {.status = refusal});
}

void Broker::MakeLink(uint64_t id, PendingConnect pending) {
  absl::StatusOr<LinkResources> made = MakeLinkResources(pending.options);
  if (!made.ok()) {
    Answer(pending.client, pending.sequence, {.status = made.status()});
    return;
  }
  // A peer may send on its watch socket, and a descriptor it sends would be released when
  // the broker closes its side: never on this thread (untrusted_descriptors.h). The guard
  // goes on before either end leaves: the kernel checks it when a message is sent, so one
  // sent before it would keep its descriptor.
  bool refuses_descriptors[2];
  for (int side : {0, 1}) {
    refuses_descriptors[side] =
        kernel_refuses_descriptors_ && RefuseDescriptors(made->watch_kept[side].get());
    if (!refuses_descriptors[side]) LabelEveryMessage(made->watch_kept[side].get());
  }
  // The server's end first: the client never gets a link whose server did not get its end.
  NewLinkEvent event{pending.service, pending.client_peer, pending.client_groups, id, 1,
                     pending.options};
  int server_fds[] = {made->end_socket[1].get(), made->region.get(), made->watch_for_end[1].get()};
  absl::Status told =
      SendControl(pending.server, ControlType::kNewLink, 0, EncodeNewLink(event), server_fds);
  if (!told.ok()) {
    DropUnreadServer(pending.server, told);
    if (pending.server == pending.client) return;
    Answer(pending.client, pending.sequence,
           {.status = absl::UnavailableError(
                absl::StrFormat("the server of \"%s\" (pid %d) admitted the link, then %s",
                                pending.service, pending.server_peer.pid, NotReading(told)))});
    return;
  }
  LinkRecord& link = links_[id];
  link.service = pending.service;
  link.client = pending.client_peer;
  link.server = pending.server_peer;
  link.created = absl::Now();
  link.options = pending.options;
  link.methods = std::move(pending.methods);
  link.region = std::move(made->region);
  if (pending.limited) CountLinkAgainst(link, link.client.uid);
  for (int side : {0, 1}) {
    link.watch[side] = std::move(made->watch_kept[side]);
    link.watch_refuses_descriptors[side] = refuses_descriptors[side];
    watches_[link.watch[side].get()] = {id, side};
    Watch(link.watch[side].get(), EPOLLRDHUP);
  }
  ++counters_.links_made;
  int client_fds[] = {made->end_socket[0].get(), link.region.get(), made->watch_for_end[0].get()};
  if (!connections_.contains(pending.client)) return;  // the server was the client, and left
  Answer(pending.client, pending.sequence,
         {.status = absl::OkStatus(),
          .link_id = id,
          .side = 0,
          .options = pending.options,
          .peer = pending.server_peer},
         client_fds);
}

absl::StatusOr<Listing> Broker::BuildListing() const {
  // Adds up what the listing will take encoded as it grows, so that a listing too large
  // (links whose mirrors a client filled) costs no more than kMaxListingBytes to refuse.
  uint64_t bytes = kEmptyListingBytes;
  auto too_large = [&](size_t links_listed) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the listing takes more than the %s a listing may (it passed that after %d of %d "
        "links)",
        Bytes(kMaxListingBytes), links_listed, links_.size()));
  };
  Listing listing;
  listing.broker_pid = getpid();
  for (const auto& [name, service] : services_) {
    listing.services.push_back({name, service.owner, service.policy.Describe(service.owner.uid)});
    bytes += EncodedListingBytes(listing.services.back());
    if (bytes > kMaxListingBytes) return too_large(0);
  }
  absl::Time now = absl::Now();
  for (const auto& [id, link] : links_) {
    LinkListing& listed = listing.links.emplace_back();
    listed.id = id;
    listed.service = link.service;
    listed.client = link.client;
    listed.server = link.server;
    listed.age_ns = absl::ToInt64Nanoseconds(now - link.created);
    for (int side : {0, 1}) {
      listed.closed[side] = link.closed[side];
      absl::StatusOr<std::vector<PendingRequestListing>> pending =
          ReadPendingRequests(link.region.get(), link.options, side);
      if (!pending.ok()) continue;
      listed.pending[side] = *std::move(pending);
      if (link.methods == nullptr) continue;
      for (PendingRequestListing& p : listed.pending[side]) {
        if (auto name = link.methods->find(p.command); name != link.methods->end()) {
          p.method = name->second;
        }
      }
    }
    bytes += EncodedListingBytes(listed);
    if (bytes > kMaxListingBytes) return too_large(listing.links.size());
  }
  listing.counters = counters_;
  listing.counters.open_descriptors = OpenDescriptors();
  listing.counters.closed_aside = closer_.closed();
  listing.counters.closing_aside = closer_.waiting();
  return listing;
}

void Broker::HandleList(int fd, const ControlPacket& packet) {
  // Each listing goes as a file of its own, whose memory the socket's buffer does not
  // count: a client gets one only when it has read every answer before, so that one that
  // asks over and over without reading holds one file, not hundreds.
  if (int unread = 0; ioctl(fd, SIOCOUTQ, &unread) != 0 || unread > 0) {
    Answer(fd, packet.sequence,
           {.status = absl::ResourceExhaustedError(
                "an earlier answer is still unread: read it before asking for a listing")});
    return;
  }
  absl::StatusOr<Listing> listing = BuildListing();
  if (!listing.ok()) {
    Answer(fd, packet.sequence, {.status = listing.status()});
    return;
  }
  std::vector<std::byte> bytes = EncodeListing(*listing);
  absl::StatusOr<UniqueFd> file = ListingFile(bytes);
  if (!file.ok()) {
    Answer(fd, packet.sequence, {.status = file.status()});
    return;
  }
  int fds[] = {file->get()};
  Answer(fd, packet.sequence, {.status = absl::OkStatus(), .listing_bytes = bytes.size()}, fds);
}

}  // namespace syslink::broker
