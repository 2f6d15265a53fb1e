#include "rpc/grpc/gateway/gateway_flags.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/arg_reader.h"

namespace syslink::rpc {

const char kGatewayUsage[] =
    "usage: syslink-gateway --expose SERVICE[=NAME] [--expose ...] [options]\n"
    "\n"
    "Exposes local syslink services to gRPC callers on the network. A gRPC call to\n"
    "/SERVICE/Method is relayed, as bytes, to the local service the broker knows as NAME,\n"
    "over a syslink link; its status, response and attachment come back. No code or .proto\n"
    "is needed per service. The local service sees the gateway's user as its caller: run\n"
    "the gateway as a user of its own and let only that user in (docs/grpc.md).\n"
    "\n"
    "  --expose SERVICE[=NAME]  relay calls to SERVICE, the .proto's full service name\n"
    "                        (e.g. syslink.examples.fs.FileSystem), to the local service\n"
    "                        registered as NAME (default: SERVICE). Repeatable. Nothing is\n"
    "                        exposed by default; a call to any other service gets NOT_FOUND.\n"
    "  --listen ADDRESS      where to accept gRPC calls: HOST:PORT or unix:/PATH. Repeatable.\n"
    "                        Default 127.0.0.1:0 (this machine only, a free port). Each\n"
    "                        address bound is printed as \"listening on HOST:PORT\".\n"
    "  --tls-cert FILE       serve TLS with this certificate chain (PEM) ...\n"
    "  --tls-key FILE        ... and its private key (PEM). Without them: plaintext.\n"
    "  --tls-client-ca FILE  require every caller to present a certificate signed by this\n"
    "                        CA (mutual TLS); needs --tls-cert and --tls-key.\n"
    "  --workers N           calls relayed at once (default 16); more wait their turn.\n"
    "  --max-queued N        calls that may wait for a worker (default 1024), each\n"
    "                        holding its request, 256 MiB of requests in all; one more\n"
    "                        gets RESOURCE_EXHAUSTED.\n"
    "  --max-streams N       streaming calls relayed at once (default 256), each on two\n"
    "                        threads and a link of its own; one more gets\n"
    "                        RESOURCE_EXHAUSTED. Their callers' messages read ahead\n"
    "                        hold 256 MiB in all; beyond, a caller waits to send.\n"
    "  --max-message BYTES   the largest request or stream message read (default 4194304,\n"
    "                        gRPC's own default); a larger one gets RESOURCE_EXHAUSTED\n"
    "                        before it is read whole. Queued calls and streams' read-ahead\n"
    "                        hold up to this much each. Raise it for a service whose links\n"
    "                        carry more (LinkOptions::max_dma_size above 4 MiB).\n"
    "  --broker-socket PATH  the broker's socket (default: the same as every syslink\n"
    "                        program's). The gateway never starts a broker.\n"
    "  --help                this text\n"
    "\n"
    "A caller gets UNAVAILABLE when the service is not running or dies during its call;\n"
    "the next call finds the service again once it is back. SIGINT or SIGTERM stops the\n"
    "gateway (calls still running get a second to finish). gRPC's buffers for all callers\n"
    "hold at most twice what the limits above let the gateway hold, and at least 1 GiB:\n"
    "past that, gRPC cuts calls and streams off (RESOURCE_EXHAUSTED, or UNAVAILABLE with\n"
    "their connection). Options take their value as --listen ADDRESS or --listen=ADDRESS.\n";

absl::StatusOr<GatewayFlags> ParseGatewayFlags(const std::vector<std::string>& args) {
  GatewayFlags flags;
  ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (!reader.is_option()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown argument ", reader.arg(), " (see --help)"));
    }
    if (flag == "--help" || flag == "-h") {
      flags.help = true;
      continue;
    }
    static constexpr const char* kFlags[] = {
        "--expose",  "--listen",     "--tls-cert",    "--tls-key",     "--tls-client-ca",
        "--workers", "--max-queued", "--max-streams", "--max-message", "--broker-socket"};
    if (std::find(std::begin(kFlags), std::end(kFlags), flag) == std::end(kFlags)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", flag, " (see --help)"));
    }
    // Only the first '=' splits: --expose=SERVICE=NAME.
    std::optional<std::string> given = reader.Value();
    if (!given.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value (see --help)"));
    }
    const std::string& value = *given;
    if (value.empty()) {
      // "--tls-client-ca=$CA" with $CA unset must not serve without client certificates.
      return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value, not an empty one"));
    }
    if (flag == "--expose") {
      const size_t eq = value.find('=');
      const std::string service = value.substr(0, eq);
      const std::string name = eq == std::string::npos ? service : value.substr(eq + 1);
      if (service.empty() || name.empty() || service.find('/') != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--expose ", value, ": give SERVICE or SERVICE=NAME"));
      }
      flags.exposed[service] = name;
    } else if (flag == "--listen") {
      flags.listen.push_back(value);
    } else if (flag == "--tls-cert") {
      flags.tls_cert = value;
    } else if (flag == "--tls-key") {
      flags.tls_key = value;
    } else if (flag == "--tls-client-ca") {
      flags.tls_client_ca = value;
    } else if (flag == "--workers") {
      if (!absl::SimpleAtoi(value, &flags.workers) || flags.workers < 1 || flags.workers > 1024) {
        return absl::InvalidArgumentError(
            absl::StrCat("--workers ", value, ": give a number from 1 to 1024"));
      }
    } else if (flag == "--max-queued") {
      if (!absl::SimpleAtoi(value, &flags.max_queued) || flags.max_queued < 0 ||
          flags.max_queued > 1 << 20) {
        return absl::InvalidArgumentError(
            absl::StrCat("--max-queued ", value, ": give a number from 0 to 1048576"));
      }
    } else if (flag == "--max-streams") {
      if (!absl::SimpleAtoi(value, &flags.max_streams) || flags.max_streams < 1 ||
          flags.max_streams > 65536) {
        return absl::InvalidArgumentError(
            absl::StrCat("--max-streams ", value, ": give a number from 1 to 65536"));
      }
    } else if (flag == "--max-message") {
      if (!absl::SimpleAtoi(value, &flags.max_message) || flags.max_message < 1024 ||
          flags.max_message > 1 << 30) {
        return absl::InvalidArgumentError(
            absl::StrCat("--max-message ", value, ": give a number from 1024 to 1073741824"));
      }
    } else if (flag == "--broker-socket") {
      flags.broker_socket = value;
    }
  }
  if (flags.listen.empty()) flags.listen.push_back("127.0.0.1:0");
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!flags.tls_client_ca.empty() && flags.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  return flags;
}

std::string BoundAddress(const std::string& listen, int port) {
  if (listen.rfind("unix:", 0) == 0) return listen;
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  return absl::StrCat(listen.substr(0, colon), ":", port);
}

}  // namespace syslink::rpc
