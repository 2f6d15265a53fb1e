#include "syslink/broker/internal/syslinkd_flags.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/arg_reader.h"
#include "base/parse_octal.h"

namespace syslink::broker::internal {

const char kSyslinkdUsage[] =
    "usage: syslinkd [--socket PATH] [--socket-mode MODE] [--policy FILE] [options]\n"
    "\n"
    "The syslink broker: names services, checks who may register and who may connect to\n"
    "them, makes links, and answers for the requests a process leaves unanswered when it\n"
    "dies. Runs in the foreground until SIGTERM or SIGINT. Programs using syslink start one\n"
    "on demand when none is running (with --idle-exit); run it by hand or under systemd to\n"
    "control where and how.\n"
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
    "  --idle-exit D         exit (status 0, removing the socket) once nothing has used\n"
    "                        the broker for D: no service registered, no link with an\n"
    "                        end still held, no connection open (before the first\n"
    "                        connection: at least 10s). Seconds, or a duration\n"
    "                        such as 90s or 500ms. Without it the broker runs until\n"
    "                        stopped; a broker a program starts on demand gets it\n"
    "                        (60s unless BrokerConnectOptions says otherwise)\n"
    "  --accept-timeout D    how long a client's connect waits for the server to admit\n"
    "                        the link: seconds, or a duration such as 500ms (default 5s)\n"
    "  --max-connections-per-uid N       (default 256)\n"
    "  --max-services-per-uid N          (default 256)\n"
    "  --max-pending-connects-per-uid N  (default 64)\n"
    "  --max-links-per-uid N             (default 1024)\n"
    "                        what one user may hold at once (a link it asked for counts\n"
    "                        until both its ends are closed); root and this broker's\n"
    "                        own user are not limited\n"
    "  --kernel-descriptor-guard=on|off  (default on) off: do not ask the kernel to refuse\n"
    "                        descriptors sent to the broker (SO_PASSRIGHTS, Linux 6.16):\n"
    "                        runs the fallback older kernels get, for testing it\n"
    "  --help, -h            this text\n"
    "\n"
    "Exit status: 0 after SIGTERM/SIGINT or an idle exit, 1 if it cannot serve (another\n"
    "syslinkd holds the socket's lock, the socket cannot be created, the policy file is\n"
    "bad), 2 for a bad argument.\n";

namespace {

bool ParsePositive(const std::string& text, int* n) { return absl::SimpleAtoi(text, n) && *n > 0; }

// "5" (seconds) or an absl duration ("500ms", "2s"), positive and finite.
bool ParseSyslinkdDuration(const std::string& text, absl::Duration* d) {
  int seconds;
  if (absl::SimpleAtoi(text, &seconds)) {
    *d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, d)) {
    return false;
  }
  return *d > absl::ZeroDuration() && *d < absl::InfiniteDuration();
}

}  // namespace

absl::StatusOr<SyslinkdCommandLine> ParseSyslinkdCommandLine(std::span<const std::string> args) {
  SyslinkdCommandLine command;
  BrokerOptions& broker = command.run.broker;
  ArgReader reader(args);
  while (reader.Next()) {
    const std::string& name = reader.flag();
    if (reader.is_option() && (name == "--help" || name == "-h")) {
      command.help = true;
      return command;
    }
    static constexpr const char* kFlags[] = {"--socket",
                                             "--socket-mode",
                                             "--policy",
                                             "--idle-timeout",
                                             "--idle-exit",
                                             "--accept-timeout",
                                             "--max-connections-per-uid",
                                             "--max-services-per-uid",
                                             "--max-pending-connects-per-uid",
                                             "--max-links-per-uid",
                                             "--kernel-descriptor-guard"};
    if (!reader.is_option() ||
        std::find(std::begin(kFlags), std::end(kFlags), name) == std::end(kFlags)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown argument '%s'\n\n%s", reader.arg(), kSyslinkdUsage));
    }
    std::optional<std::string> given = reader.Value();
    if (!given.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s needs a value\n\n%s", name, kSyslinkdUsage));
    }
    const std::string& value = *given;
    auto bad = [&](const char* what) {
      return absl::InvalidArgumentError(absl::StrFormat("%s %s (got '%s')", name, what, value));
    };
    if (name == "--socket") {
      broker.socket_path = value;
    } else if (name == "--socket-mode") {
      uint32_t bits;
      if (!ParseOctal(value, 0777, &bits)) {
        return bad("wants octal permission bits, 0 to 777");
      }
      broker.socket_mode = static_cast<mode_t>(bits);
    } else if (name == "--policy") {
      if (value.empty()) return bad("wants a file");
      broker.policy_path = value;
    } else if (name == "--idle-timeout") {
      int n;
      if (!ParsePositive(value, &n)) return bad("wants a positive number of seconds");
      broker.idle_timeout = absl::Seconds(n);
    } else if (name == "--idle-exit") {
      if (!ParseSyslinkdDuration(value, &broker.idle_exit)) {
        return bad("wants seconds or a duration such as 90s or 500ms");
      }
    } else if (name == "--accept-timeout") {
      if (!ParseSyslinkdDuration(value, &broker.accept_timeout)) {
        return bad("wants seconds or a duration such as 500ms");
      }
    } else if (name == "--max-connections-per-uid") {
      if (!ParsePositive(value, &broker.limits.connections)) return bad("wants a positive number");
    } else if (name == "--max-services-per-uid") {
      if (!ParsePositive(value, &broker.limits.services)) return bad("wants a positive number");
    } else if (name == "--max-pending-connects-per-uid") {
      if (!ParsePositive(value, &broker.limits.pending_connects)) {
        return bad("wants a positive number");
      }
    } else if (name == "--max-links-per-uid") {
      if (!ParsePositive(value, &broker.limits.links)) return bad("wants a positive number");
    } else if (name == "--kernel-descriptor-guard") {
      if (value != "on" && value != "off") return bad("wants on or off");
      broker.kernel_refuses_descriptors = value == "on";
    }
  }
  return command;
}

}  // namespace syslink::broker::internal
