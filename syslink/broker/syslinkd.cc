// syslinkd: the syslink broker, run by hand or by systemd (see docs/broker.md).
//
//   syslinkd [--socket PATH] [--socket-mode MODE] [--idle-timeout SECONDS]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "base/parse_octal.h"
#include "syslink/broker/paths.h"
#include "syslink/broker/run.h"

namespace {

constexpr char kUsage[] =
    "usage: syslinkd [--socket PATH] [--socket-mode MODE] [--idle-timeout SECONDS]\n"
    "\n"
    "The syslink broker: names services, checks who may connect to them, makes links,\n"
    "and answers for the requests a process leaves unanswered when it dies. Runs in the\n"
    "foreground until SIGTERM or SIGINT. Programs using syslink start one on demand when\n"
    "none is running; run it by hand or under systemd to control where and how.\n"
    "\n"
    "  --socket PATH         where to listen (default: $SYSLINK_BROKER_SOCKET, else\n"
    "                        $XDG_RUNTIME_DIR/syslink/broker.sock, else\n"
    "                        /tmp/syslink-$UID/broker.sock). Its directory is created\n"
    "                        0700 if missing, and refused if another user owns it or\n"
    "                        group or others can write to it.\n"
    "  --socket-mode MODE    permissions of the socket, octal (default 600: only this\n"
    "                        user; 666 lets every user reach the broker, whose access\n"
    "                        policies then decide)\n"
    "  --idle-timeout SECS   close connections that register nothing and stay silent\n"
    "                        this long (default 30)\n"
    "  --help, -h            this text\n"
    "\n"
    "Exit status: 0 after SIGTERM/SIGINT, 1 if it cannot serve (another syslinkd holds\n"
    "the socket's lock, or the socket cannot be created), 2 for a bad argument.\n";

}  // namespace

int main(int argc, char** argv) {
  syslink::broker::RunOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (arg == flag && i + 1 < argc) return argv[++i];
      std::string prefix = std::string(flag) + "=";
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (const char* path = value("--socket")) {
      options.broker.socket_path = path;
    } else if (const char* mode = value("--socket-mode")) {
      uint32_t bits;
      if (!syslink::ParseOctal(mode, 0777, &bits)) {
        std::fprintf(stderr,
                     "syslinkd: --socket-mode wants octal permission bits, 0 to 777 (got "
                     "'%s')\n",
                     mode);
        return 2;
      }
      options.broker.socket_mode = static_cast<mode_t>(bits);
    } else if (const char* seconds = value("--idle-timeout")) {
      int n;
      if (!absl::SimpleAtoi(seconds, &n) || n <= 0) {
        std::fprintf(stderr, "syslinkd: --idle-timeout wants a positive number of seconds\n");
        return 2;
      }
      options.broker.idle_timeout = absl::Seconds(n);
    } else {
      std::fprintf(stderr, "syslinkd: unknown argument '%s'\n\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (options.broker.socket_path.empty()) {
    absl::StatusOr<std::string> path = syslink::broker::BrokerSocketPath();
    if (!path.ok()) {
      std::fprintf(stderr, "syslinkd: %s\n", path.status().ToString().c_str());
      return 2;
    }
    options.broker.socket_path = *path;
  }
  return syslink::broker::RunBrokerProcess(options);
}
