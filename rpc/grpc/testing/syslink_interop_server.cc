// The syslink side of rpc/grpc's gateway tests: InteropService (interop_service.h)
// registered with a broker, in a process of its own, so that a test can kill it mid-call.
//
//   syslink_interop_server --broker-socket PATH [--name NAME] [--spin-budget-us N]
//
// --spin-budget-us sets how long the service's side of each link spins for the next call
// before it sleeps (ring::WaitOptions; the default is ring::kDefaultSpinBudget).
// Prints "ready" once registered, "holding" when a Hold call starts and "held cancelled" or
// "held" when it ends; serves until stdin closes (its parent, the test, holds the other
// end) or it is killed.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "rpc/grpc/testing/interop_service.h"
#include "rpc/server.h"

int main(int argc, char** argv) {
  std::string socket, name = "syslink.interop.Interop";
  int spin_us = -1;  // the links' spin budget; -1: the default
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--broker-socket") {
      socket = argv[i + 1];
    } else if (flag == "--name") {
      name = argv[i + 1];
    } else if (flag == "--spin-budget-us" && absl::SimpleAtoi(argv[i + 1], &spin_us)) {
    } else {
      std::fprintf(stderr,
                   "usage: syslink_interop_server --broker-socket PATH [--name NAME] "
                   "[--spin-budget-us N]\n");
      return 2;
    }
  }
  syslink::interop::InteropService service;
  service.on_hold = [] {
    std::printf("holding\n");
    std::fflush(stdout);
  };
  service.on_hold_end = [](bool cancelled) {
    std::printf(cancelled ? "held cancelled\n" : "held\n");
    std::fflush(stdout);
  };
  // Workers: a Hold call waits for its caller to give up, which reaches a method only on
  // a worker (ServerContext::OnCancel).
  syslink::rpc::Server server({.workers = 4});
  syslink::LinkOptions link;
  if (spin_us >= 0) link.wait.spin_budget = absl::Microseconds(spin_us);
  absl::Status registered = server.ServeBroker(
      &service,
      {.name = name, .link = link, .broker = {.socket_path = socket, .start_broker = false}});
  if (!registered.ok()) {
    std::fprintf(stderr, "syslink_interop_server: %s\n", registered.ToString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  char byte;
  while (read(STDIN_FILENO, &byte, 1) > 0) {
  }
  server.Shutdown();
  return 0;
}
