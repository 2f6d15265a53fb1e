// syslinkd's command line, read the same way by syslinkd's main and by a program that
// serves as syslinkd on demand (embedded_broker.h).
//
//   absl::StatusOr<SyslinkdCommandLine> command = ParseSyslinkdCommandLine(args);
//   if (!command.ok()) { print command.status().message(); exit 2; }
//   if (command->help) { print kSyslinkdUsage; exit 0; }
//   RunBrokerProcess(command->run);
//
// `args` excludes argv[0]. Each flag may be given as `--flag VALUE` or `--flag=VALUE`.
// The socket path is left as given (empty when not given): the caller makes it absolute
// or picks the default (paths.h).
//
// Thread safety: pure functions.
// Errors: INVALID_ARGUMENT, with a message naming the flag and what it got, for anything
// syslinkd would refuse; an unknown argument's message ends with the usage text.

#ifndef SYSLINK_SYSLINK_BROKER_INTERNAL_SYSLINKD_FLAGS_H_
#define SYSLINK_SYSLINK_BROKER_INTERNAL_SYSLINKD_FLAGS_H_

#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "syslink/broker/run.h"

namespace syslink::broker::internal {

extern const char kSyslinkdUsage[];

struct SyslinkdCommandLine {
  RunOptions run;
  bool help = false;  // --help or -h: print kSyslinkdUsage and exit 0
};

[[nodiscard]] absl::StatusOr<SyslinkdCommandLine> ParseSyslinkdCommandLine(
    std::span<const std::string> args);

}  // namespace syslink::broker::internal

#endif  // SYSLINK_SYSLINK_BROKER_INTERNAL_SYSLINKD_FLAGS_H_
