#include "syslink/broker/run.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace syslink::broker {
namespace {

std::atomic<Broker*> running{nullptr};

void OnStopSignal(int) {
  if (Broker* broker = running.load()) broker->Stop();
}

}  // namespace

int RunBrokerProcess(const RunOptions& options) {
  signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<std::unique_ptr<Broker>> broker = Broker::Start(options.broker);
  if (!broker.ok()) {
    if (absl::IsAlreadyExists(broker.status()) && options.quiet_if_running) return 0;
    std::fprintf(stderr, "syslinkd: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  running.store(broker->get());
  struct sigaction action = {};
  action.sa_handler = &OnStopSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  // Whoever started this process may have blocked them; they stop the broker.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
  std::fprintf(stderr, "syslinkd: serving %s (pid %d)\n", (*broker)->socket_path().c_str(),
               getpid());
  absl::Status status = (*broker)->Run();
  running.store(nullptr);
  if (!status.ok()) {
    std::fprintf(stderr, "syslinkd: %s\n", status.ToString().c_str());
    return 1;
  }
  if ((*broker)->exited_idle()) {
    std::fprintf(stderr, "syslinkd: idle for %s; exiting (--idle-exit)\n",
                 absl::FormatDuration(options.broker.idle_exit).c_str());
  }
  return 0;
}

}  // namespace syslink::broker
