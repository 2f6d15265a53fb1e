// broker_user: a program that uses the broker, for tests that run it from a directory of
// their own (with or without a syslinkd installed beside it; see broker_autostart_test).
//
//   broker_user serve SOCKET NAME READY_FD
//       registers NAME at the broker at SOCKET, starting one if none answers, writes a
//       byte to READY_FD once registered, and takes links (holding each) until killed;
//       when its broker goes away it registers again, starting a new one.
//   broker_user connect SOCKET NAME
//       connects to NAME, starting a broker if none answers; exit status 0 once the link
//       is made, 1 otherwise (the reason on stderr).
//
// A broker it starts leaves after 60 s idle (the library's default).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "syslink/broker/client.h"
#include "syslink/link.h"

namespace {

using ::syslink::broker::BrokerConnectOptions;
using ::syslink::broker::ServiceRegistration;

int Serve(const BrokerConnectOptions& options, const std::string& name, int ready) {
  absl::StatusOr<ServiceRegistration> service =
      ServiceRegistration::Register(name, syslink::broker::AccessPolicy::SameUser(), {}, options);
  if (!service.ok()) {
    std::fprintf(stderr, "broker_user: %s\n", service.status().ToString().c_str());
    return 1;
  }
  char byte = 1;
  if (write(ready, &byte, 1) != 1) return 1;
  close(ready);
  std::vector<syslink::Link> links;
  while (true) {
    // Waits for a link; if the broker went away, registers again first (starting one).
    absl::StatusOr<syslink::broker::IncomingLink> incoming =
        service->Accept(absl::InfiniteFuture());
    if (incoming.ok()) {
      links.push_back(std::move(incoming->link));
    } else {
      absl::SleepFor(absl::Milliseconds(10));  // no broker yet: try again soon
    }
  }
}

int Connect(const BrokerConnectOptions& options, const std::string& name) {
  absl::StatusOr<syslink::Link> link = syslink::broker::ConnectToService(name, options);
  if (!link.ok()) {
    std::fprintf(stderr, "broker_user: %s\n", link.status().ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  int ready;
  if (args.size() >= 3) {
    BrokerConnectOptions options{.socket_path = args[1], .start_broker = true};
    if (args[0] == "serve" && args.size() == 4 && absl::SimpleAtoi(args[3], &ready)) {
      return Serve(options, args[2], ready);
    }
    if (args[0] == "connect" && args.size() == 3) return Connect(options, args[2]);
  }
  std::fprintf(stderr, "usage: broker_user serve SOCKET NAME READY_FD | connect SOCKET NAME\n");
  return 2;
}
