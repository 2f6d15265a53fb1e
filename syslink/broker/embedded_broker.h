// The embedded broker: any program linked with the broker client can become syslinkd.
//
// StartBroker() (client.h) re-executes the calling program (/proc/self/exe), detached,
// with kEmbeddedBrokerEnv set to the socket path. A static initializer in this library sees
// the variable before main() runs, serves that socket as syslinkd, and exits: the program's
// own main() never runs in that process. A second broker for the same socket exits at once
// (the socket's lock decides who serves).

#ifndef SYSLINK_SYSLINK_BROKER_EMBEDDED_BROKER_H_
#define SYSLINK_SYSLINK_BROKER_EMBEDDED_BROKER_H_

namespace syslink::broker {

inline constexpr char kEmbeddedBrokerEnv[] = "SYSLINK_EMBEDDED_BROKER";

}  // namespace syslink::broker

#endif  // SYSLINK_SYSLINK_BROKER_EMBEDDED_BROKER_H_
