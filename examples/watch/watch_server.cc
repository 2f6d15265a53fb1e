// watch_server: serves the watch example's key-value store (watch.proto) through the
// syslink broker until SIGINT or SIGTERM. See kUsage, or `watch_server --help`.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/arg_reader.h"
#include "examples/watch/store_service.h"
#include "examples/watch/watchable_map.h"
#include "rpc/server.h"
#include "rpc/stop_signals.h"

namespace syslink::examples::watch {
namespace {

constexpr char kUsage[] =
    "usage: watch_server [--name NAME]\n"
    "\n"
    "Serves an empty in-memory key-value store (examples/watch/watch.proto) through the\n"
    "syslink broker until SIGINT or SIGTERM; everything in it is gone when it stops.\n"
    "Clients put and get values, and watch a key prefix: each change to a key under it is\n"
    "pushed to them as it happens, in order (`watch_client --help`). Only the user running\n"
    "the server (and root) may connect. A broker is started on demand if none runs\n"
    "($SYSLINK_BROKER_SOCKET picks its socket).\n"
    "\n"
    "  --name NAME   register as NAME (default: syslink.examples.watch.Store)\n"
    "  --help        this text\n";

int Serve(const std::string& name) {
  rpc::StopSignals stop;  // before any thread starts

  WatchableMap map;
  StoreService service(&map);
  rpc::Server server;
  if (absl::Status s = server.ServeBroker(&service, {.name = name}); !s.ok()) {
    std::fprintf(stderr, "watch_server: cannot serve %s: %s\n", name.c_str(), s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "watch_server: serving %s (pid %d)\n", name.c_str(), getpid());
  const int signal_number = stop.Wait();
  std::fprintf(stderr, "watch_server: %s, stopping\n", strsignal(signal_number));
  map.Stop();  // every watch returns, so that Shutdown() need not wait for a change
  // The watches are returning now: let them send their own status ("the store is
  // stopping") rather than be cancelled mid-return.
  server.Shutdown(absl::Now() + absl::Seconds(5));
  return 0;
}

}  // namespace
}  // namespace syslink::examples::watch

int main(int argc, char** argv) {
  using namespace syslink::examples::watch;
  std::string name(Store::kServiceName);
  const std::vector<std::string> args(argv + 1, argv + argc);
  syslink::ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (reader.is_option() && (flag == "--help" || flag == "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (reader.is_option() && flag == "--name") {
      std::optional<std::string> value = reader.Value();
      if (value.has_value() && !value->empty()) {
        name = *value;
        continue;
      }
    }
    std::fprintf(stderr, "watch_server: bad argument \"%s\"\n\n%s", reader.arg().c_str(), kUsage);
    return 2;
  }
  return Serve(name);
}
