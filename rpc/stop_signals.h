// StopSignals: SIGINT and SIGTERM, taken by one waiting thread instead of ending the
// process, so that a server shuts down cleanly (its running methods answer first).
//
//   int main() {
//     syslink::rpc::StopSignals stop;   // first: before any thread starts
//     syslink::rpc::Server server;
//     if (absl::Status s = server.ServeBroker(&service); !s.ok()) { ...; return 1; }
//     stop.Wait();                      // until SIGINT or SIGTERM
//     server.Shutdown();
//   }
//
// The constructor blocks the two signals in the calling thread; threads started after it
// inherit that, so no thread is interrupted and only Wait() takes them. Make it before any
// thread starts (a thread started earlier would still be killed by the signal).
//
// Thread safety: Wait() from one thread at a time. Ownership: the destructor restores the
// calling thread's signal mask.

#ifndef SYSLINK_RPC_STOP_SIGNALS_H_
#define SYSLINK_RPC_STOP_SIGNALS_H_

#include <signal.h>

namespace syslink::rpc {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits for SIGINT or SIGTERM; returns which.
  int Wait();

 private:
  sigset_t signals_;
  sigset_t previous_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_STOP_SIGNALS_H_
