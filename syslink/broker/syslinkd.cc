// syslinkd: the syslink broker, run by hand or by systemd (see docs/broker.md).
//
//   syslinkd [--socket PATH] [--socket-mode MODE] [--policy FILE] [--idle-timeout SECONDS]
//            [--accept-timeout DURATION] [--max-connections-per-uid N]
//            [--max-services-per-uid N] [--max-pending-connects-per-uid N]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "base/parse_octal.h"
#include "syslink/broker/paths.h"
#include "syslink/broker/run.h"

namespace {

constexpr char kUsage[] =
    "usage: syslinkd [--socket PATH] [--socket-mode MODE] [--policy FILE] [options]\n"
    "\n"
    "The syslink broker: names services, checks who may register and who may connect to\n"
    "them, makes links, and answers for the requests a process leaves unanswered when it\n"
    "dies. Runs in the foreground until SIGTERM or SIGINT. Programs using syslink start one\n"
    "on demand when none is running; run it by hand or under systemd to control where and\n"
    "how.\n"
    "\n"
    "  --socket PATH         where to listen (default: $SYSLINK_BROKER_SOCKET, else\n"
    "                        $XDG_RUNTIME_DIR/syslink/broker.sock, else\n"
    "                        /tmp/syslink-$UID/broker.sock). Its directory is created\n"
    "                        0700 if missing, and refused if another user owns it or\n"
    "                        group or others can write to it.\n"
    "  --socket-mode MODE    permissions of the socket, octal (default 600: only this\n"
    "                        user; 666 lets every user reach the broker, whose policies\n"
    "                        then decide)\n"
    "  --policy FILE         who may register which service names (see docs/broker.md);\n"
    "                        without it only this broker's own user and root may\n"
    "  --idle-timeout SECS   close connections that register nothing and stay silent\n"
    "                        this long (default 30)\n"
    "  --accept-timeout D    how long a client's connect waits for the server to admit\n"
    "                        the link: seconds, or a duration such as 500ms (default 5s)\n"
    "  --max-connections-per-uid N       (default 256)\n"
    "  --max-services-per-uid N          (default 256)\n"
    "  --max-pending-connects-per-uid N  (default 64)\n"
    "                        what one user may hold at once; root and this broker's own\n"
    "                        user are not limited\n"
    "  --kernel-descriptor-guard=off     do not ask the kernel to refuse descriptors sent\n"
    "                        to the broker (SO_PASSRIGHTS, Linux 6.16): runs the fallback\n"
    "                        older kernels get, for testing it\n"
    "  --help, -h            this text\n"
    "\n"
    "Exit status: 0 after SIGTERM/SIGINT, 1 if it cannot serve (another syslinkd holds\n"
    "the socket's lock, the socket cannot be created, the policy file is bad), 2 for a\n"
    "bad argument.\n";

bool ParsePositive(const char* text, int* n) { return absl::SimpleAtoi(text, n) && *n > 0; }

// "5" (seconds) or an absl duration ("500ms", "2s").
bool ParseDuration(const char* text, absl::Duration* d) {
  int seconds;
  if (absl::SimpleAtoi(text, &seconds)) {
    *d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, d)) {
    return false;
  }
  return *d > absl::ZeroDuration() && *d < absl::InfiniteDuration();
}

}  // namespace

int main(int argc, char** argv) {
  syslink::broker::RunOptions options;
  syslink::broker::BrokerOptions& broker = options.broker;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (arg == flag && i + 1 < argc) return argv[++i];
      std::string prefix = std::string(flag) + "=";
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    auto bad = [&](const char* what, const char* got) {
      std::fprintf(stderr, "syslinkd: %s %s (got '%s')\n", arg.substr(0, arg.find('=')).c_str(),
                   what, got);
      return 2;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (const char* path = value("--socket")) {
      broker.socket_path = path;
    } else if (const char* mode = value("--socket-mode")) {
      uint32_t bits;
      if (!syslink::ParseOctal(mode, 0777, &bits)) {
        std::fprintf(stderr,
                     "syslinkd: --socket-mode wants octal permission bits, 0 to 777 (got "
                     "'%s')\n",
                     mode);
        return 2;
      }
      broker.socket_mode = static_cast<mode_t>(bits);
    } else if (const char* file = value("--policy")) {
      if (*file == '\0') return bad("wants a file", file);
      broker.policy_path = file;
    } else if (const char* seconds = value("--idle-timeout")) {
      int n;
      if (!ParsePositive(seconds, &n)) {
        std::fprintf(stderr, "syslinkd: --idle-timeout wants a positive number of seconds\n");
        return 2;
      }
      broker.idle_timeout = absl::Seconds(n);
    } else if (const char* d = value("--accept-timeout")) {
      if (!ParseDuration(d, &broker.accept_timeout)) {
        return bad("wants seconds or a duration such as 500ms", d);
      }
    } else if (const char* n = value("--max-connections-per-uid")) {
      if (!ParsePositive(n, &broker.limits.connections)) return bad("wants a positive number", n);
    } else if (const char* n = value("--max-services-per-uid")) {
      if (!ParsePositive(n, &broker.limits.services)) return bad("wants a positive number", n);
    } else if (const char* n = value("--max-pending-connects-per-uid")) {
      if (!ParsePositive(n, &broker.limits.pending_connects)) {
        return bad("wants a positive number", n);
      }
    } else if (const char* on = value("--kernel-descriptor-guard")) {
      if (std::strcmp(on, "on") != 0 && std::strcmp(on, "off") != 0) {
        return bad("wants on or off", on);
      }
      broker.kernel_refuses_descriptors = std::strcmp(on, "on") == 0;
    } else {
      std::fprintf(stderr, "syslinkd: unknown argument '%s'\n\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  absl::StatusOr<std::string> path = broker.socket_path.empty()
                                         ? syslink::broker::BrokerSocketPath()
                                         : syslink::broker::AbsoluteSocketPath(broker.socket_path);
  if (!path.ok()) {
    std::fprintf(stderr, "syslinkd: %s\n", path.status().ToString().c_str());
    return 2;
  }
  broker.socket_path = *path;
  return syslink::broker::RunBrokerProcess(options);
}
