// The broker's control protocol: the messages a process and syslinkd exchange over the
// broker's Unix socket (SOCK_SEQPACKET, one message per packet). docs/broker.md
// specifies it in prose.
//
//   packet = ControlHeader (16 bytes) + body (fields, see control_codec.h)
//            [+ descriptors by SCM_RIGHTS: the socket, region and watch socket of an end]
//
//   kRegister   process -> broker   name, access policy, link options      -> kAnswer
//   kUnregister process -> broker   name                                   -> kAnswer
//   kConnect    process -> broker   name                                   -> kAnswer + end
//   kList       process -> broker   (nothing)                              -> kAnswer + listing
//   kNewLink    broker -> process   a client connected to a service it registered: the
//                                   client's credentials and the server's end
//
// A request carries a sequence number that its answer echoes. Decoding checks every field
// (see control_codec.h); a malformed message gets an INVALID_ARGUMENT answer, or a closed
// connection if it cannot even be framed.
//
// Thread safety: value types and pure functions.

#ifndef SYSLINK_SYSLINK_BROKER_CONTROL_MESSAGES_H_
#define SYSLINK_SYSLINK_BROKER_CONTROL_MESSAGES_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "syslink/broker/access_policy.h"
#include "syslink/link_options.h"

namespace syslink::broker {

inline constexpr uint32_t kControlMagic = 0x4b42534c;  // "LSBK"
inline constexpr uint16_t kControlVersion = 1;
inline constexpr size_t kMaxControlMessage = 256 * 1024;
inline constexpr size_t kMaxServiceName = 255;
inline constexpr size_t kMaxPolicyEntries = 64;

enum class ControlType : uint16_t {
  kRegister = 1,
  kUnregister = 2,
  kConnect = 3,
  kList = 4,
  kAnswer = 100,
  kNewLink = 101,
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

struct RegisterRequest {
  std::string name;
  AccessPolicy policy;
  LinkOptions options;  // the links made for this service
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
  uint64_t refused = 0;      // PERMISSION_DENIED
  uint64_t not_found = 0;
  uint64_t malformed = 0;    // control messages that failed to decode
  uint64_t ends_closed = 0;  // ends whose last holder went away
  uint64_t synthetic_replies = 0;
  uint64_t open_descriptors = 0;
};

struct Listing {
  pid_t broker_pid = 0;
  std::vector<ServiceListing> services;
  std::vector<LinkListing> links;
  BrokerCounters counters;
};

// An answer: the outcome, and for kConnect the link's id and options and which end this
// is (the end's descriptors travel beside it), for kList the listing.
struct Answer {
  absl::Status status;
  uint64_t link_id = 0;
  uint32_t side = 0;
  LinkOptions options;
  Listing listing;
};

struct NewLinkEvent {
  std::string service;
  Credentials client;
  uint64_t link_id = 0;
  uint32_t side = 0;
  LinkOptions options;
};

std::vector<std::byte> EncodeRegister(const RegisterRequest& request);
absl::StatusOr<RegisterRequest> DecodeRegister(std::span<const std::byte> body);

std::vector<std::byte> EncodeName(const std::string& name);  // kUnregister, kConnect
absl::StatusOr<std::string> DecodeName(std::span<const std::byte> body);

std::vector<std::byte> EncodeAnswer(const Answer& answer);
absl::StatusOr<Answer> DecodeAnswer(std::span<const std::byte> body);

std::vector<std::byte> EncodeNewLink(const NewLinkEvent& event);
absl::StatusOr<NewLinkEvent> DecodeNewLink(std::span<const std::byte> body);

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_CONTROL_MESSAGES_H_
