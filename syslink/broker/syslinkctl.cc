// syslinkctl: what the syslink broker knows, as a table or as JSON.
//
//   syslinkctl [--socket PATH] [--broker-uid UID] [--json]

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/arg_reader.h"
#include "syslink/broker/client.h"
#include "syslink/broker/paths.h"

namespace syslink::broker {
namespace {

constexpr char kUsage[] =
    "usage: syslinkctl [--socket PATH] [--broker-uid UID] [--json]\n"
    "\n"
    "Shows what the syslink broker knows: the services registered (name, owner pid and\n"
    "uid, who may connect), the live links (both ends' processes as they were when the\n"
    "link was made), each link's requests still waiting for a reply (id, method, age,\n"
    "DMA bytes lent with them), and the broker's counters. A method is shown as\n"
    "package.Service/Method when its server registered its names (an rpc::Server does),\n"
    "else by its command number. Never starts a broker.\n"
    "\n"
    "  --socket PATH   the broker's socket (default: $SYSLINK_BROKER_SOCKET, else\n"
    "                  $XDG_RUNTIME_DIR/syslink/broker.sock, else\n"
    "                  /tmp/syslink-$UID/broker.sock)\n"
    "  --broker-uid UID  trust a broker run by this uid (and its socket's directory)\n"
    "                  besides this user and root, e.g. another user's broker\n"
    "  --json          one JSON object instead of tables, for scripts\n"
    "  --help, -h      this text\n"
    "\n"
    "Exit status: 0, or 1 when no broker answers (or it is not one to trust), 2 for a\n"
    "bad argument.\n";

std::string Age(int64_t ns) {
  return absl::FormatDuration(absl::Trunc(absl::Nanoseconds(ns), absl::Microseconds(100)));
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonCredentials(const Credentials& c) {
  return absl::StrFormat("{\"pid\": %d, \"uid\": %d, \"gid\": %d}", c.pid, c.uid, c.gid);
}

void PrintJson(const Listing& l, const std::string& socket) {
  absl::PrintF("{\n  \"broker\": {\"pid\": %d, \"socket\": %s},\n", l.broker_pid,
               JsonString(socket).c_str());
  absl::PrintF("  \"services\": [");
  for (size_t i = 0; i < l.services.size(); ++i) {
    const ServiceListing& s = l.services[i];
    absl::PrintF("%s\n    {\"name\": %s, \"owner\": %s, \"policy\": %s}", i ? "," : "",
                 JsonString(s.name).c_str(), JsonCredentials(s.owner).c_str(),
                 JsonString(s.policy).c_str());
  }
  absl::PrintF("\n  ],\n  \"links\": [");
  for (size_t i = 0; i < l.links.size(); ++i) {
    const LinkListing& link = l.links[i];
    absl::PrintF(
        "%s\n    {\"id\": %d, \"service\": %s, \"client\": %s, \"server\": %s, "
        "\"age_ns\": %d,",
        i ? "," : "", link.id, JsonString(link.service).c_str(),
        JsonCredentials(link.client).c_str(), JsonCredentials(link.server).c_str(), link.age_ns);
    for (int side : {0, 1}) {
      absl::PrintF("\n     \"%s\": {\"closed\": %s, \"pending\": [",
                   side == 0 ? "client_end" : "server_end", link.closed[side] ? "true" : "false");
      for (size_t j = 0; j < link.pending[side].size(); ++j) {
        const PendingRequestListing& p = link.pending[side][j];
        absl::PrintF(
            "%s{\"id\": %d, \"command\": %d, \"method\": %s, \"age_ns\": %d, "
            "\"dma_bytes\": %d}",
            j ? ", " : "", p.id, p.command,
            p.method.empty() ? "null" : JsonString(p.method).c_str(), p.age_ns, p.dma_bytes);
      }
      absl::PrintF("]}%s", side == 0 ? "," : "");
    }
    absl::PrintF("}");
  }
  const BrokerCounters& c = l.counters;
  absl::PrintF(
      "\n  ],\n  \"counters\": {\"connections\": %d, \"registrations\": %d, "
      "\"links_made\": %d, \"refused\": %d, \"not_found\": %d, \"malformed\": %d, "
      "\"ends_closed\": %d, \"synthetic_replies\": %d, \"open_descriptors\": %d, "
      "\"refused_by_servers\": %d, \"names_refused\": %d, \"over_limit\": %d, "
      "\"descriptors_refused\": %d, \"out_of_descriptors\": %d, "
      "\"closed_aside\": %d, \"closing_aside\": %d}\n}\n",
      c.connections, c.registrations, c.links_made, c.refused, c.not_found, c.malformed,
      c.ends_closed, c.synthetic_replies, c.open_descriptors, c.refused_by_servers, c.names_refused,
      c.over_limit, c.descriptors_refused, c.out_of_descriptors, c.closed_aside, c.closing_aside);
}

// A request's method by name when its server registered one, else its command number.
std::string Command(const PendingRequestListing& p) {
  if (p.method.empty()) return absl::StrCat("command ", p.command);
  return p.method;
}

uint64_t DmaBytes(const std::vector<PendingRequestListing>& pending) {
  uint64_t bytes = 0;
  for (const PendingRequestListing& p : pending) bytes += p.dma_bytes;
  return bytes;
}

void PrintTables(const Listing& l, const std::string& socket) {
  absl::PrintF("broker: pid %d at %s\n\n", l.broker_pid, socket.c_str());
  absl::PrintF("%-32s %8s %6s  %s\n", "SERVICE", "PID", "UID", "WHO MAY CONNECT");
  for (const ServiceListing& s : l.services) {
    absl::PrintF("%-32s %8d %6d  %s\n", s.name.c_str(), s.owner.pid, s.owner.uid, s.policy.c_str());
  }
  if (l.services.empty()) absl::PrintF("(no services)\n");
  absl::PrintF("\n%-6s %-24s %8s %8s %10s %9s %13s\n", "LINK", "SERVICE", "CLIENT", "SERVER", "AGE",
               "PENDING", "DMA LENT");
  for (const LinkListing& link : l.links) {
    auto pid = [&](int side, const Credentials& c) {
      return link.closed[side] ? std::string("gone") : absl::StrCat(c.pid);
    };
    absl::PrintF("%-6d %-24s %8s %8s %10s %4d/%-4d %6d/%-6d\n", link.id, link.service.c_str(),
                 pid(0, link.client).c_str(), pid(1, link.server).c_str(), Age(link.age_ns).c_str(),
                 link.pending[0].size(), link.pending[1].size(), DmaBytes(link.pending[0]),
                 DmaBytes(link.pending[1]));
    for (int side : {0, 1}) {
      for (const PendingRequestListing& p : link.pending[side]) {
        absl::PrintF("         %s request %d: %s, waiting %s, %d DMA bytes lent\n",
                     side == 0 ? "client" : "server", p.id, Command(p).c_str(),
                     Age(p.age_ns).c_str(), p.dma_bytes);
      }
    }
  }
  if (l.links.empty()) absl::PrintF("(no links)\n");
  const BrokerCounters& c = l.counters;
  absl::PrintF(
      "\ncounters: %d connections, %d registrations, %d links made, %d refused, "
      "%d not found, %d malformed messages, %d ends closed, %d synthetic replies, "
      "%d descriptors open, %d links refused by their servers, %d names refused, "
      "%d refused by per-uid limits, %d packets with descriptors refused, "
      "%d times out of descriptors, %d closed aside (%d waiting)\n",
      c.connections, c.registrations, c.links_made, c.refused, c.not_found, c.malformed,
      c.ends_closed, c.synthetic_replies, c.open_descriptors, c.refused_by_servers, c.names_refused,
      c.over_limit, c.descriptors_refused, c.out_of_descriptors, c.closed_aside, c.closing_aside);
}

}  // namespace
}  // namespace syslink::broker

int main(int argc, char** argv) {
  using namespace syslink::broker;
  BrokerConnectOptions options;
  options.start_broker = false;
  options.timeout = absl::Seconds(2);
  bool json = false;
  const std::vector<std::string> args(argv + 1, argv + argc);
  syslink::ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (reader.is_option() && (flag == "--help" || flag == "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (reader.is_option() && flag == "--json") {
      if (reader.has_attached_value()) {
        std::fprintf(stderr, "syslinkctl: --json takes no value\n");
        return 2;
      }
      json = true;
      continue;
    }
    if (!reader.is_option() || (flag != "--socket" && flag != "--broker-uid")) {
      std::fprintf(stderr, "syslinkctl: unknown argument '%s'\n\n%s", reader.arg().c_str(), kUsage);
      return 2;
    }
    std::optional<std::string> value = reader.Value();
    if (!value.has_value()) {
      std::fprintf(stderr, "syslinkctl: %s needs a value\n", flag.c_str());
      return 2;
    }
    if (flag == "--socket") {
      options.socket_path = *value;
      continue;
    }
    uint32_t uid;
    if (!absl::SimpleAtoi(*value, &uid)) {
      std::fprintf(stderr, "syslinkctl: --broker-uid wants a uid (got '%s')\n", value->c_str());
      return 2;
    }
    options.broker_uid = uid;
  }
  if (options.socket_path.empty()) {
    absl::StatusOr<std::string> path = BrokerSocketPath();
    if (!path.ok()) {
      std::fprintf(stderr, "syslinkctl: %s\n", path.status().ToString().c_str());
      return 2;
    }
    options.socket_path = *path;
  }
  absl::StatusOr<Listing> listing = ListBroker(options);
  if (!listing.ok()) {
    std::fprintf(stderr, "syslinkctl: %s\n", listing.status().ToString().c_str());
    return 1;
  }
  if (json) {
    PrintJson(*listing, options.socket_path);
  } else {
    PrintTables(*listing, options.socket_path);
  }
  return 0;
}
