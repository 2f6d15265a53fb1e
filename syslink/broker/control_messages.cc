#include "syslink/broker/control_messages.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "syslink/broker/internal/control_codec.h"

namespace syslink::broker {

using internal::FieldReader;
using internal::FieldWriter;

namespace {

constexpr size_t kMaxMessageText = 4096;
constexpr size_t kMaxListed = 100000;

void PutOptions(FieldWriter& w, const LinkOptions& o) {
  w.U64(o.ring_capacity);
  w.U64(o.arena_size);
  w.U64(o.max_dma_size);
  w.U32(static_cast<uint32_t>(o.wait.mode));
  w.I64(absl::ToInt64Nanoseconds(o.wait.spin_budget));
}

bool GetOptions(FieldReader& r, LinkOptions* o) {
  uint32_t mode;
  int64_t spin_ns;
  if (!r.U64(&o->ring_capacity) || !r.U64(&o->arena_size) || !r.U64(&o->max_dma_size) ||
      !r.U32(&mode) || !r.I64(&spin_ns)) {
    return false;
  }
  o->wait.mode = static_cast<ring::WaitMode>(mode);
  o->wait.spin_budget = absl::Nanoseconds(spin_ns);
  return true;
}

constexpr uint64_t kCredentialsBytes = 3 * 4;  // what PutCredentials writes

void PutCredentials(FieldWriter& w, const Credentials& c) {
  w.U32(static_cast<uint32_t>(c.pid));
  w.U32(c.uid);
  w.U32(c.gid);
}

bool GetCredentials(FieldReader& r, Credentials* c) {
  uint32_t pid, uid, gid;
  if (!r.U32(&pid) || !r.U32(&uid) || !r.U32(&gid)) return false;
  *c = {static_cast<pid_t>(pid), uid, gid};
  return true;
}

// Checked options, or the reader's error.
absl::Status CheckedOptions(const FieldReader& r, bool read, const LinkOptions& options,
                            const char* what) {
  if (!read || !r.Done()) return r.Error(what);
  return ValidateLinkOptions(options);
}

void PutListing(FieldWriter& w, const Listing& l) {
  w.U32(static_cast<uint32_t>(l.broker_pid));
  w.U32(static_cast<uint32_t>(l.services.size()));
  for (const ServiceListing& s : l.services) {
    w.String(s.name);
    PutCredentials(w, s.owner);
    w.String(s.policy);
  }
  w.U32(static_cast<uint32_t>(l.links.size()));
  for (const LinkListing& link : l.links) {
    w.U64(link.id);
    w.String(link.service);
    PutCredentials(w, link.client);
    PutCredentials(w, link.server);
    w.I64(link.age_ns);
    for (int side : {0, 1}) {
      w.U32(link.closed[side] ? 1 : 0);
      w.U32(static_cast<uint32_t>(link.pending[side].size()));
      for (const PendingRequestListing& p : link.pending[side]) {
        w.U64(p.id);
        w.U32(p.command);
        w.I64(p.age_ns);
        w.U64(p.dma_bytes);
        w.String(p.method);
      }
    }
  }
  const BrokerCounters& c = l.counters;
  for (uint64_t v : {c.connections, c.registrations, c.links_made, c.refused, c.not_found,
                     c.malformed, c.ends_closed, c.synthetic_replies, c.open_descriptors,
                     c.refused_by_servers, c.names_refused, c.over_limit, c.descriptors_refused,
                     c.out_of_descriptors, c.closed_aside, c.closing_aside}) {
    w.U64(v);
  }
}

bool GetCount(FieldReader& r, uint32_t* n) { return r.U32(n) && *n <= kMaxListed; }

void PutOptional(FieldWriter& w, const std::optional<uint32_t>& v) {
  w.U32(v.has_value() ? 1 : 0);
  w.U32(v.value_or(0));
}

bool GetOptional(FieldReader& r, std::optional<uint32_t>* v) {
  uint32_t present, value;
  if (!r.U32(&present) || !r.U32(&value) || present > 1) return false;
  if (present) *v = value;
  return true;
}

void PutStatus(FieldWriter& w, const absl::Status& status) {
  w.U32(static_cast<uint32_t>(status.code()));
  w.String(status.message().substr(0, kMaxMessageText));
}

bool GetStatus(FieldReader& r, absl::Status* status) {
  uint32_t code;
  std::string text;
  if (!r.U32(&code) || code > 16 || !r.String(&text, kMaxMessageText)) return false;
  *status = absl::Status(static_cast<absl::StatusCode>(code), text);
  return true;
}

bool GetListing(FieldReader& r, Listing* l) {
  uint32_t pid, services, links;
  if (!r.U32(&pid) || !GetCount(r, &services)) return false;
  l->broker_pid = static_cast<pid_t>(pid);
  for (uint32_t i = 0; i < services; ++i) {
    ServiceListing s;
    if (!r.String(&s.name, kMaxServiceName) || !GetCredentials(r, &s.owner) ||
        !r.String(&s.policy, kMaxMessageText)) {
      return false;
    }
    l->services.push_back(std::move(s));
  }
  if (!GetCount(r, &links)) return false;
  for (uint32_t i = 0; i < links; ++i) {
    LinkListing link;
    if (!r.U64(&link.id) || !r.String(&link.service, kMaxServiceName) ||
        !GetCredentials(r, &link.client) || !GetCredentials(r, &link.server) ||
        !r.I64(&link.age_ns)) {
      return false;
    }
    for (int side : {0, 1}) {
      uint32_t closed, pending;
      if (!r.U32(&closed) || !GetCount(r, &pending)) return false;
      link.closed[side] = closed != 0;
      for (uint32_t j = 0; j < pending; ++j) {
        PendingRequestListing p;
        if (!r.U64(&p.id) || !r.U32(&p.command) || !r.I64(&p.age_ns) || !r.U64(&p.dma_bytes) ||
            !r.String(&p.method, kMaxMethodName)) {
          return false;
        }
        link.pending[side].push_back(p);
      }
    }
    l->links.push_back(std::move(link));
  }
  BrokerCounters& c = l->counters;
  for (uint64_t* v :
       {&c.connections, &c.registrations, &c.links_made, &c.refused, &c.not_found, &c.malformed,
        &c.ends_closed, &c.synthetic_replies, &c.open_descriptors, &c.refused_by_servers,
        &c.names_refused, &c.over_limit, &c.descriptors_refused, &c.out_of_descriptors,
        &c.closed_aside, &c.closing_aside}) {
    if (!r.U64(v)) return false;
  }
  return true;
}

// A letter, a digit or '_'.
bool IsWordCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Whether `name` is <service>/<method>: see CheckMethodTable.
bool IsMethodName(const std::string& name) {
  size_t slash = name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsWordCharacter(c) || (i < slash && c == '.') || i == slash;
    if (!ok) return false;
  }
  return true;
}

void PutMethodTable(FieldWriter& w, const std::vector<MethodName>& methods) {
  w.U32(static_cast<uint32_t>(methods.size()));
  for (const MethodName& m : methods) {
    w.U32(m.id);
    w.String(m.name);
  }
}

// Reads a table of at most kMaxMethods entries. Names are read up to any length the
// message holds, so that CheckMethodTable can say which one is too long.
absl::Status GetMethodTable(FieldReader& r, std::vector<MethodName>* methods) {
  uint32_t count;
  if (!r.U32(&count)) return r.Error("register");
  if (count > kMaxMethods) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "malformed register message: its method table has %d entries, more than the %d a "
        "service may name",
        count, kMaxMethods));
  }
  methods->resize(count);
  for (MethodName& m : *methods) {
    if (!r.U32(&m.id) || !r.String(&m.name, kMaxControlMessage)) return r.Error("register");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMethodTable(std::span<const MethodName> methods) {
  if (methods.size() > kMaxMethods) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a method table has at most %d entries; this one has %d", kMaxMethods, methods.size()));
  }
  size_t bytes = 0;
  std::vector<uint32_t> ids;
  ids.reserve(methods.size());
  for (size_t i = 0; i < methods.size(); ++i) {
    const MethodName& m = methods[i];
    if (m.name.empty() || m.name.size() > kMaxMethodName) {
      return absl::InvalidArgumentError(
          absl::StrFormat("method table entry %d: a method name has 1 to %d bytes; this one has %d",
                          i, kMaxMethodName, m.name.size()));
    }
    if (!IsMethodName(m.name)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("method table entry %d: \"%s\" is not a method name of the form "
                          "package.Service/Method (letters, digits, '_', and '.' before the '/')",
                          i, absl::CHexEscape(m.name)));
    }
    if (m.id == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "method table entry %d: method \"%s\" has id 0, which no method has", i, m.name));
    }
    ids.push_back(m.id);
    bytes += m.name.size();
  }
  if (bytes > kMaxMethodTableBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a method table holds at most %d bytes of names; this one holds %d",
                        kMaxMethodTableBytes, bytes));
  }
  std::sort(ids.begin(), ids.end());
  if (auto twice = std::adjacent_find(ids.begin(), ids.end()); twice != ids.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("method table names id %d more than once", *twice));
  }
  return absl::OkStatus();
}

absl::Status CheckServiceName(const std::string& name) {
  if (name.empty() || name.size() > kMaxServiceName) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a service name has 1 to %d characters; \"%s\" has %d", kMaxServiceName,
                        name, name.size()));
  }
  for (char c : name) {
    bool ok = IsWordCharacter(c) || c == '.' || c == '/' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "service name \"%s\" contains '%c'; names use letters, digits and . _ / -",
          absl::CHexEscape(name), c));
    }
  }
  return absl::OkStatus();
}

std::vector<std::byte> EncodeRegister(const RegisterRequest& request) {
  FieldWriter w;
  w.String(request.name);
  w.U32List(request.policy.allowed_uids);
  w.U32List(request.policy.allowed_gids);
  PutOptions(w, request.options);
  PutMethodTable(w, request.methods);
  return w.bytes();
}

absl::StatusOr<RegisterRequest> DecodeRegister(std::span<const std::byte> body) {
  FieldReader r(body);
  RegisterRequest request;
  std::vector<uint32_t> uids, gids;
  bool read = r.String(&request.name, kMaxServiceName) && r.U32List(&uids, kMaxPolicyEntries) &&
              r.U32List(&gids, kMaxPolicyEntries) && GetOptions(r, &request.options);
  if (!read) return r.Error("register");
  if (absl::Status s = GetMethodTable(r, &request.methods); !s.ok()) return s;
  if (absl::Status s = CheckedOptions(r, read, request.options, "register"); !s.ok()) return s;
  if (absl::Status s = CheckServiceName(request.name); !s.ok()) return s;
  if (absl::Status s = CheckMethodTable(request.methods); !s.ok()) {
    return absl::Status(s.code(), absl::StrFormat("service \"%s\": %s", request.name, s.message()));
  }
  request.policy.allowed_uids.assign(uids.begin(), uids.end());
  request.policy.allowed_gids.assign(gids.begin(), gids.end());
  return request;
}

std::vector<std::byte> EncodeName(const std::string& name) {
  FieldWriter w;
  w.String(name);
  return w.bytes();
}

absl::StatusOr<std::string> DecodeName(std::span<const std::byte> body) {
  FieldReader r(body);
  std::string name;
  if (!r.String(&name, kMaxServiceName) || !r.Done()) return r.Error("service name");
  if (absl::Status s = CheckServiceName(name); !s.ok()) return s;
  return name;
}

std::vector<std::byte> EncodeConnect(const ConnectRequest& request) {
  FieldWriter w;
  w.String(request.name);
  PutOptional(w, request.server_uid);
  PutOptional(w, request.server_gid);
  w.U64(request.max_ring_capacity);
  w.U64(request.max_arena_size);
  w.U64(request.wait_for_registration_ms);
  return w.bytes();
}

absl::StatusOr<ConnectRequest> DecodeConnect(std::span<const std::byte> body) {
  FieldReader r(body);
  ConnectRequest request;
  std::optional<uint32_t> uid, gid;
  bool read = r.String(&request.name, kMaxServiceName) && GetOptional(r, &uid) &&
              GetOptional(r, &gid) && r.U64(&request.max_ring_capacity) &&
              r.U64(&request.max_arena_size) && r.U64(&request.wait_for_registration_ms);
  if (!read || !r.Done()) return r.Error("connect");
  if (absl::Status s = CheckServiceName(request.name); !s.ok()) return s;
  if (uid) request.server_uid = *uid;
  if (gid) request.server_gid = *gid;
  return request;
}

std::vector<std::byte> EncodeAdmit(const AdmitRequest& request) {
  FieldWriter w;
  w.U64(request.link_id);
  PutStatus(w, request.status);
  return w.bytes();
}

absl::StatusOr<AdmitRequest> DecodeAdmit(std::span<const std::byte> body) {
  FieldReader r(body);
  AdmitRequest request;
  if (!r.U64(&request.link_id) || !GetStatus(r, &request.status) || !r.Done()) {
    return r.Error("admit");
  }
  return request;
}

uint64_t EncodedListingBytes(const ServiceListing& service) {
  return 4 + service.name.size() + kCredentialsBytes + 4 + service.policy.size();
}

uint64_t EncodedListingBytes(const LinkListing& link) {
  uint64_t bytes = 8 + 4 + link.service.size() + 2 * kCredentialsBytes + 8;
  for (int side : {0, 1}) {
    bytes += 4 + 4;  // closed, the count of pending requests
    for (const PendingRequestListing& p : link.pending[side]) {
      bytes += 8 + 4 + 8 + 8 + 4 + p.method.size();
    }
  }
  return bytes;
}

uint64_t EncodedListingBytes(const Listing& listing) {
  uint64_t bytes = kEmptyListingBytes;
  for (const ServiceListing& s : listing.services) bytes += EncodedListingBytes(s);
  for (const LinkListing& link : listing.links) bytes += EncodedListingBytes(link);
  return bytes;
}

std::vector<std::byte> EncodeListing(const Listing& listing) {
  FieldWriter w;
  w.Reserve(EncodedListingBytes(listing));
  PutListing(w, listing);
  return w.TakeBytes();
}

absl::StatusOr<Listing> DecodeListing(std::span<const std::byte> bytes) {
  FieldReader r(bytes);
  Listing listing;
  if (!GetListing(r, &listing) || !r.Done()) return r.Error("listing");
  return listing;
}

std::vector<std::byte> EncodeAnswer(const Answer& answer) {
  FieldWriter w;
  PutStatus(w, answer.status);
  w.U64(answer.link_id);
  w.U32(answer.side);
  PutOptions(w, answer.options);
  PutCredentials(w, answer.peer);
  w.U64(answer.listing_bytes);
  return w.bytes();
}

absl::StatusOr<Answer> DecodeAnswer(std::span<const std::byte> body) {
  FieldReader r(body);
  Answer answer;
  bool read = GetStatus(r, &answer.status) && r.U64(&answer.link_id) && r.U32(&answer.side) &&
              answer.side <= 1 && GetOptions(r, &answer.options) &&
              GetCredentials(r, &answer.peer) && r.U64(&answer.listing_bytes) &&
              answer.listing_bytes <= kMaxListingBytes;
  if (!read || !r.Done()) return r.Error("broker answer");
  return answer;
}

std::vector<std::byte> EncodeNewLink(const NewLinkEvent& event) {
  FieldWriter w;
  w.String(event.service);
  PutCredentials(w, event.client);
  w.U64(event.link_id);
  w.U32(event.side);
  PutOptions(w, event.options);
  w.U32List(std::span(event.client_groups.data(),
                      std::min(event.client_groups.size(), kMaxClientGroups)));
  return w.bytes();
}

absl::StatusOr<NewLinkEvent> DecodeNewLink(std::span<const std::byte> body) {
  FieldReader r(body);
  NewLinkEvent event;
  bool read = r.String(&event.service, kMaxServiceName) && GetCredentials(r, &event.client) &&
              r.U64(&event.link_id) && r.U32(&event.side) && event.side <= 1 &&
              GetOptions(r, &event.options) && r.U32List(&event.client_groups, kMaxClientGroups);
  if (absl::Status s = CheckedOptions(r, read, event.options, "new link"); !s.ok()) return s;
  return event;
}

}  // namespace syslink::broker
