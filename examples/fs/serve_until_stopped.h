// ServeUntilStopped(): the main loop of a file server binary (memfs, passthrough): serve a
// service through the broker until SIGINT or SIGTERM.
//
//   return ServeUntilStopped("memfs", &memfs, serving, "(pid 42, 4G)");
//
// A policy that names other users or groups is widened to admit the user running the
// server too (an empty one admits only that user, and root). Messages go to stderr, each
// starting with `program`: why serving failed, what is served once registered (`name`
// and `announce`), and the signal that stopped it.
//
// Thread safety: call once, from main, before any thread starts (it blocks SIGINT and
// SIGTERM in the calling thread, so that every thread started later inherits the mask
// and only its sigwait() sees them). Returns the process's exit status: 0 after a signal,
// 1 when the service could not be registered.

#ifndef SYSLINK_EXAMPLES_FS_SERVE_UNTIL_STOPPED_H_
#define SYSLINK_EXAMPLES_FS_SERVE_UNTIL_STOPPED_H_

#include <string>

#include "absl/strings/string_view.h"
#include "rpc/server.h"
#include "rpc/service.h"
#include "syslink/broker/access_policy.h"
#include "syslink/link_options.h"

namespace syslink::examples::fs {

struct ServingOptions {
  std::string name;             // the name registered with the broker
  broker::AccessPolicy policy;  // who may connect
  int workers = 0;              // rpc::ServerOptions::workers
  LinkOptions link;             // the options of each client's link
};

[[nodiscard]] int ServeUntilStopped(absl::string_view program, rpc::Service* service,
                                    ServingOptions options, absl::string_view announce);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_SERVE_UNTIL_STOPPED_H_
