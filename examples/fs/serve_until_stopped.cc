#include "examples/fs/serve_until_stopped.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace syslink::examples::fs {

int ServeUntilStopped(absl::string_view program, rpc::Service* service, ServingOptions options,
                      absl::string_view announce) {
  const std::string me(program);
  if (!options.policy.allowed_uids.empty() || !options.policy.allowed_gids.empty()) {
    options.policy.allowed_uids.push_back(getuid());
  }
  rpc::Server server(rpc::ServerOptions{.workers = options.workers});
  // Block the signals before any thread starts, so that only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::Status s = server.ServeBroker(
      service, {.name = options.name, .policy = options.policy, .link = options.link});
  if (!s.ok()) {
    std::fprintf(stderr, "%s: cannot serve %s: %s\n", me.c_str(), options.name.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s: serving %s %s\n", me.c_str(), options.name.c_str(),
               std::string(announce).c_str());
  int signal_number;
  sigwait(&signals, &signal_number);
  server.Shutdown();
  std::fprintf(stderr, "%s: stopped by signal %d\n", me.c_str(), signal_number);
  return 0;
}

}  // namespace syslink::examples::fs
