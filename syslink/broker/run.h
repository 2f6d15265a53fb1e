// RunBrokerProcess(): this process becomes syslinkd until SIGTERM, SIGINT or an idle exit.
//
// Used by syslinkd's main and by the embedded broker (embedded_broker.h). Ignores SIGPIPE,
// stops cleanly on SIGTERM/SIGINT (removing the socket), and returns the process's exit
// code: 0 after a clean stop or an idle exit (BrokerOptions::idle_exit), or when another
// broker already serves the socket and `quiet_if_running` is set; 1 otherwise, with the
// reason on stderr.

#ifndef SYSLINK_SYSLINK_BROKER_RUN_H_
#define SYSLINK_SYSLINK_BROKER_RUN_H_

#include "syslink/broker/broker.h"

namespace syslink::broker {

struct RunOptions {
  BrokerOptions broker;
  bool quiet_if_running = false;
};

int RunBrokerProcess(const RunOptions& options);

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_RUN_H_
