// syslinkd: the syslink broker, run by hand or by systemd (see docs/broker.md).
//
//   syslinkd [--socket PATH] [--socket-mode MODE] [--policy FILE] [--idle-timeout SECONDS]
//            [--idle-exit DURATION] [--accept-timeout DURATION]
//            [--max-connections-per-uid N] [--max-services-per-uid N]
//            [--max-pending-connects-per-uid N]
//
// The flags are read by internal/syslinkd_flags.h, which the embedded broker shares.

#include <cstdio>
#include <string>
#include <vector>

#include "syslink/broker/internal/syslinkd_flags.h"
#include "syslink/broker/paths.h"
#include "syslink/broker/run.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<syslink::broker::internal::SyslinkdCommandLine> command =
      syslink::broker::internal::ParseSyslinkdCommandLine(args);
  if (!command.ok()) {
    std::fprintf(stderr, "syslinkd: %s\n", std::string(command.status().message()).c_str());
    return 2;
  }
  if (command->help) {
    std::fputs(syslink::broker::internal::kSyslinkdUsage, stdout);
    return 0;
  }
  syslink::broker::BrokerOptions& broker = command->run.broker;
  absl::StatusOr<std::string> path = broker.socket_path.empty()
                                         ? syslink::broker::BrokerSocketPath()
                                         : syslink::broker::AbsoluteSocketPath(broker.socket_path);
  if (!path.ok()) {
    std::fprintf(stderr, "syslinkd: %s\n", path.status().ToString().c_str());
    return 2;
  }
  broker.socket_path = *path;
  return syslink::broker::RunBrokerProcess(command->run);
}
