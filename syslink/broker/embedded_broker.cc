#include "syslink/broker/embedded_broker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "syslink/broker/run.h"

namespace syslink::broker {
namespace {

// Runs before main() in every program that links the broker client.
struct EmbeddedBrokerHook {
  EmbeddedBrokerHook() {
    const char* socket_path = std::getenv(kEmbeddedBrokerEnv);
    if (socket_path == nullptr) return;
    // Named as what it is, for ps, pgrep and top (it was executed as /proc/self/exe).
    prctl(PR_SET_NAME, "syslinkd");
    RunOptions options;
    options.broker.socket_path = socket_path;
    options.quiet_if_running = true;
    unsetenv(kEmbeddedBrokerEnv);
    _exit(RunBrokerProcess(options));
  }
};

EmbeddedBrokerHook hook;

}  // namespace
}  // namespace syslink::broker
