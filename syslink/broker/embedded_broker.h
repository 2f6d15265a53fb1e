// The embedded broker: any program linked with the broker client can become syslinkd.
//
// StartBroker() (client.h) starts a broker for a socket with a syslinkd command line
// (`syslinkd --socket PATH --idle-exit=D`) and kEmbeddedBrokerEnv set to the socket path.
// It runs the `syslinkd` installed beside the program when there is one; otherwise it
// re-executes the program itself (/proc/self/exe). In the program, a static initializer
// in this library sees the variable before main() runs, reads that command line from
// /proc/self/cmdline with syslinkd's own parser (internal/syslinkd_flags.h), serves the
// socket as syslinkd, and exits: the program's own main() never runs in that process. A
// second broker for the same socket exits at once (the socket's lock decides who serves).
//
// The hook reads the variable with secure_getenv(): in a program running with privileges
// its caller does not have (setuid, setgid or file capabilities: AT_SECURE), the variable
// is ignored and main() runs as usual, so that whoever sets the environment cannot make
// such a program serve a broker socket with its privileges. Such a program therefore never
// re-executes itself as a broker: StartBroker() runs the installed syslinkd or fails.
//
// The variable also marks a broker as started on demand, whichever binary runs it: tests
// find such brokers by it (/proc/<pid>/environ).

#ifndef SYSLINK_SYSLINK_BROKER_EMBEDDED_BROKER_H_
#define SYSLINK_SYSLINK_BROKER_EMBEDDED_BROKER_H_

namespace syslink::broker {

inline constexpr char kEmbeddedBrokerEnv[] = "SYSLINK_EMBEDDED_BROKER";

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_EMBEDDED_BROKER_H_
