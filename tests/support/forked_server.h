// ForkedServer: a service served on one end of a new link by a forked process, and a
// channel to it, for benchmarks and tests that want client and server in two processes.
//
//   ForkedServer echo([] { return std::make_unique<EchoServer>(); }, {.cpu = 1});
//   EchoStub stub(echo.channel());
//
// The child makes the service with `make_service` (after fork, so the service's state lives
// in the child only), serves the link on an rpc::Server until the parent's end closes, and
// exits. Destroying the ForkedServer drops its share of the channel and waits for the child
// (and kills it after 10 s): whatever else holds the channel must be gone first.
//
// Errors: aborts when the link cannot be made or handed over (a broken test environment).
// Thread safety: not thread-safe. Ownership: owns the child and the channel's link.

#ifndef SYSLINK_TESTS_SUPPORT_FORKED_SERVER_H_
#define SYSLINK_TESTS_SUPPORT_FORKED_SERVER_H_

#include <functional>
#include <memory>
#include <optional>

#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "rpc/service.h"
#include "syslink/link.h"
#include "tests/support/child_process.h"

namespace syslink::testing {

struct ForkedServerOptions {
  int cpu = -1;  // the CPU the child is pinned to; -1: not pinned
  LinkOptions link;
  rpc::ServerOptions server;
  rpc::LinkChannelOptions channel;  // the parent's channel
};

class ForkedServer {
 public:
  explicit ForkedServer(const std::function<std::unique_ptr<rpc::Service>()>& make_service,
                        const ForkedServerOptions& options = {});
  ForkedServer(const ForkedServer&) = delete;
  ForkedServer& operator=(const ForkedServer&) = delete;
  ~ForkedServer();

  const std::shared_ptr<rpc::LinkChannel>& channel() const { return channel_; }
  ChildProcess& process() { return *child_; }

 private:
  std::optional<ChildProcess> child_;
  std::shared_ptr<rpc::LinkChannel> channel_;
};

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_FORKED_SERVER_H_
