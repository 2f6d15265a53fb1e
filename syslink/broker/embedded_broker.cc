#include "syslink/broker/embedded_broker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "syslink/broker/internal/syslinkd_flags.h"
#include "syslink/broker/run.h"

namespace syslink::broker {
namespace {

// This process's arguments after argv[0], as the kernel keeps them.
std::vector<std::string> OwnArguments() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  std::vector<std::string> args = absl::StrSplit(cmdline, '\0');
  if (!args.empty()) args.erase(args.begin());
  return args;
}

// Runs before main() in every program that links the broker client. secure_getenv: a
// setuid, setgid or file-capability program ignores the variable (embedded_broker.h).
struct EmbeddedBrokerHook {
  EmbeddedBrokerHook() {
    const char* socket_path = secure_getenv(kEmbeddedBrokerEnv);
    if (socket_path == nullptr) return;
    // Named as what it is, for ps, pgrep and top (it was executed as /proc/self/exe).
    prctl(PR_SET_NAME, "syslinkd");
    absl::StatusOr<internal::SyslinkdCommandLine> command =
        internal::ParseSyslinkdCommandLine(OwnArguments());
    if (!command.ok() || command->help) {
      std::fprintf(stderr, "syslinkd: %s\n", std::string(command.status().message()).c_str());
      _exit(2);
    }
    RunOptions& options = command->run;
    options.broker.socket_path = socket_path;
    options.quiet_if_running = true;
    unsetenv(kEmbeddedBrokerEnv);
    _exit(RunBrokerProcess(options));
  }
};

EmbeddedBrokerHook hook;

}  // namespace
}  // namespace syslink::broker
