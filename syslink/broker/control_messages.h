// The broker's control protocol: the messages a process and syslinkd exchange over the
// broker's Unix socket (SOCK_SEQPACKET, one message per packet). docs/broker.md
// specifies it in prose.
//
//   packet = ControlHeader (16 bytes) + body (fields, see internal/control_codec.h)
//            [+ descriptors by SCM_RIGHTS, from the broker only: an end's socket, region
//               and watch socket; a listing's memfd]
//
//   kRegister   process -> broker   name, access policy, link options,
//                                   method table (may be empty)            -> kAnswer
//   kUnregister process -> broker   name                                   -> kAnswer
//   kConnect    process -> broker   name, the server it expects, the ring
//                                   and arena sizes it accepts             -> kAnswer + end
//                                   (once the server admitted the link)
//   kList       process -> broker   (nothing)                -> kAnswer + listing (a memfd)
//   kOffer      broker -> server    a client asks for a link to a service the server
//                                   registered: the client's credentials and
//                                   supplementary groups, and the link id
//   kAdmit      server -> broker    the server's verdict on an offer: OK, or why not
//   kNewLink    broker -> server    the server's end of a link it admitted
//
// A request carries a sequence number that its answer echoes; sequence 0 is never used by
// a request, and an answer with sequence 0 refuses the whole connection (sent just before
// the broker closes it, e.g. when a per-uid limit is reached). Decoding checks every field
// (see internal/control_codec.h); a malformed message gets an INVALID_ARGUMENT answer, or a
// closed connection if it cannot even be framed. The broker never accepts descriptors: a
// packet carrying any closes its connection.
//
// Thread safety: value types and pure functions.

#ifndef SYSLINK_SYSLINK_BROKER_CONTROL_MESSAGES_H_
#define SYSLINK_SYSLINK_BROKER_CONTROL_MESSAGES_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "syslink/broker/access_policy.h"
#include "syslink/link_options.h"

namespace syslink::broker {

inline constexpr uint32_t kControlMagic = 0x4b42534c;  // "LSBK"
inline constexpr uint16_t kControlVersion = 5;
inline constexpr size_t kMaxControlMessage = 256 * 1024;
inline constexpr size_t kMaxServiceName = 255;
inline constexpr size_t kMaxPolicyEntries = 64;
// A client's supplementary groups told to its server (NewLinkEvent): at most this many, the
// first the kernel lists; a client in more has the rest unknown to the server.
inline constexpr size_t kMaxClientGroups = 4096;
// A registration's method table (MethodName): entries, bytes of one name, bytes of all.
inline constexpr size_t kMaxMethods = 1024;
inline constexpr size_t kMaxMethodName = 255;
inline constexpr size_t kMaxMethodTableBytes = 64 * 1024;
// A listing travels in a memfd: no socket buffer bounds it. This does: the broker refuses a
// larger listing (RESOURCE_EXHAUSTED) without building the rest of it, and a client
// refuses an answer that announces one. 32 MiB holds a million pending requests with short
// method names; building one costs the broker about three times its size.
inline constexpr uint64_t kMaxListingBytes = uint64_t{32} << 20;

enum class ControlType : uint16_t {
  kRegister = 1,
  kUnregister = 2,
  kConnect = 3,
  kList = 4,
  kAdmit = 5,
  kAnswer = 100,
  kNewLink = 101,
  kOffer = 102,
};

struct ControlHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t type;
  uint32_t sequence;
  uint32_t body_length;
};
static_assert(sizeof(ControlHeader) == 16);

// A service name: 1 to 255 bytes of [A-Za-z0-9._/-]. INVALID_ARGUMENT otherwise.
absl::Status CheckServiceName(const std::string& name);

// One method a registered service answers: the command its requests carry on a link (the
// method id) and its name, "package.Service/Method". What syslinkctl shows for a request
// still waiting, instead of the number.
struct MethodName {
  uint32_t id = 0;
  std::string name;
};

// OK if the broker keeps `methods` as a registration's table: at most kMaxMethods entries
// with distinct non-zero ids, each name 1 to kMaxMethodName bytes of the form
// <service>/<method> (the service letters, digits, '_' and '.'; the method letters,
// digits and '_'), kMaxMethodTableBytes of names in all. INVALID_ARGUMENT naming the
// first entry that is not, otherwise.
absl::Status CheckMethodTable(std::span<const MethodName> methods);

struct RegisterRequest {
  std::string name;
  AccessPolicy policy;
  LinkOptions options;              // the links made for this service
  std::vector<MethodName> methods;  // names for the commands of its links' requests
};

struct ConnectRequest {
  std::string name;
  // Refuse the link unless the server that registered `name` runs as this uid / has this
  // gid (as its primary group or a supplementary one), as the kernel attested.
  std::optional<uid_t> server_uid;
  std::optional<gid_t> server_gid;
  // Refuse the link if its rings or DMA arenas are larger: this client maps both rings
  // (pre-faulted) and both arenas.
  uint64_t max_ring_capacity = UINT64_MAX;
  uint64_t max_arena_size = UINT64_MAX;
  // When no server has registered `name`, the broker holds the request this long (in
  // milliseconds; UINT64_MAX: until the client leaves) and connects it once one registers,
  // instead of answering NOT_FOUND at once.
  uint64_t wait_for_registration_ms = 0;
};

// A server's verdict on an offer (kOffer): OK admits the link.
struct AdmitRequest {
  uint64_t link_id = 0;
  absl::Status status;
};

struct ServiceListing {
  std::string name;
  Credentials owner;
  std::string policy;
};

struct PendingRequestListing {
  uint64_t id = 0;
  uint32_t command = 0;
  int64_t age_ns = 0;
  uint64_t dma_bytes = 0;  // bytes of the requester's arena lent with it
  std::string method;      // the command's name in the service's method table, or empty
};

struct LinkListing {
  uint64_t id = 0;
  std::string service;
  Credentials client;  // as they were when the link was made
  Credentials server;
  int64_t age_ns = 0;
  std::vector<PendingRequestListing> pending[2];  // requests each end (0 client, 1 server)
                                                  // has outstanding
  bool closed[2] = {false, false};                // whether each end's last holder is gone
};

struct BrokerCounters {
  uint64_t connections = 0;  // accepted on the broker socket since start
  uint64_t registrations = 0;
  uint64_t links_made = 0;
  uint64_t refused = 0;  // PERMISSION_DENIED
  uint64_t not_found = 0;
  uint64_t malformed = 0;    // control messages that failed to decode
  uint64_t ends_closed = 0;  // ends whose last holder went away
  uint64_t synthetic_replies = 0;
  uint64_t open_descriptors = 0;
  uint64_t refused_by_servers = 0;   // offers a server's admission turned down
  uint64_t names_refused = 0;        // registrations the name policy refused
  uint64_t over_limit = 0;           // refused by a per-uid limit
  uint64_t descriptors_refused = 0;  // packets that carried descriptors (connection closed)
  uint64_t out_of_descriptors = 0;   // times accepting found no descriptor free
  // closed on the closer's thread (internal/descriptor_closer.h)
  uint64_t closed_aside = 0;
  uint64_t closing_aside = 0;  // waiting for, or being closed on, that thread
};

struct Listing {
  pid_t broker_pid = 0;
  std::vector<ServiceListing> services;
  std::vector<LinkListing> links;
  BrokerCounters counters;
};

// An answer: the outcome, and for kConnect the link's id and options, which end this is
// (the end's descriptors travel beside it) and the server's attested identity; for kList
// the size of the encoded listing in the memfd beside it (EncodeListing).
struct Answer {
  absl::Status status;
  uint64_t link_id = 0;
  uint32_t side = 0;
  LinkOptions options;
  Credentials peer;
  uint64_t listing_bytes = 0;
};

struct NewLinkEvent {
  std::string service;
  Credentials client;
  // The client's supplementary groups, as SO_PEERGROUPS gave them when it connected to the
  // broker (at most kMaxClientGroups).
  std::vector<gid_t> client_groups;
  uint64_t link_id = 0;
  uint32_t side = 0;
  LinkOptions options;
};

std::vector<std::byte> EncodeRegister(const RegisterRequest& request);
absl::StatusOr<RegisterRequest> DecodeRegister(std::span<const std::byte> body);

std::vector<std::byte> EncodeName(const std::string& name);  // kUnregister
absl::StatusOr<std::string> DecodeName(std::span<const std::byte> body);

std::vector<std::byte> EncodeConnect(const ConnectRequest& request);
absl::StatusOr<ConnectRequest> DecodeConnect(std::span<const std::byte> body);

std::vector<std::byte> EncodeAdmit(const AdmitRequest& request);
absl::StatusOr<AdmitRequest> DecodeAdmit(std::span<const std::byte> body);

std::vector<std::byte> EncodeListing(const Listing& listing);
absl::StatusOr<Listing> DecodeListing(std::span<const std::byte> bytes);

// What EncodeListing spends on each part of a listing: a listing's encoded size is
// kEmptyListingBytes plus the sum over its services and its links (each link with its
// pending requests). The broker adds these up while it builds a listing, to stop at
// kMaxListingBytes before it has built more.
inline constexpr uint64_t kEmptyListingBytes = 4 + 4 + 4 + 16 * 8;
uint64_t EncodedListingBytes(const ServiceListing& service);
uint64_t EncodedListingBytes(const LinkListing& link);
uint64_t EncodedListingBytes(const Listing& listing);

std::vector<std::byte> EncodeAnswer(const Answer& answer);
absl::StatusOr<Answer> DecodeAnswer(std::span<const std::byte> body);

std::vector<std::byte> EncodeNewLink(const NewLinkEvent& event);  // kOffer, kNewLink
absl::StatusOr<NewLinkEvent> DecodeNewLink(std::span<const std::byte> body);

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_CONTROL_MESSAGES_H_
