// Server: serves a Service over links, one thread per link.
//
//   EchoServiceImpl service;
//   syslink::rpc::Server server;
//   absl::Status s = server.ServeBroker(&service);       // registered as "echo.EchoService"
//   ...
//   server.Shutdown();
//
// For each request on a link the server finds the method by id (Service::Dispatch) and
// replies with the method's status and response. An unknown method gets UNIMPLEMENTED and a
// request that does not parse INVALID_ARGUMENT; the server goes on serving. A client that
// dies is simply gone: replies to it fail quietly and the link's thread ends.
//
// With ServerOptions::workers == 0 (the default) a link's methods run on that link's own
// thread, one at a time: the lowest latency, and responses and response attachments go
// straight into the link's memory. With workers > 0, requests from every link go to a pool
// of that many threads, so one link's calls can run in parallel; replies return to the
// link's thread, which sends them.
//
// Thread safety: all methods may be called from any thread. Ownership: services are not
// owned and must outlive the server; the server owns its links and threads, and Shutdown()
// (or destruction) closes the links and joins the threads.

#ifndef SYSLINK_RPC_SERVER_H_
#define SYSLINK_RPC_SERVER_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "rpc/context.h"
#include "rpc/service.h"
#include "syslink/broker/client.h"
#include "syslink/link.h"

namespace syslink::rpc {

struct ServerOptions {
  int workers = 0;
};

class WorkerPool;
class LinkSession;

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves `service` on `link` until the link closes or Shutdown().
  void ServeLink(Service* service, Link link, PeerIdentity peer = {});

  // Registers `name` (by default the service's full name) with the broker, with `policy`
  // deciding who may connect, and serves every client that connects, until Shutdown().
  // Returns once registered, or why registering failed.
  [[nodiscard]] absl::Status ServeBroker(
      Service* service, std::string name = "",
      const broker::AccessPolicy& policy = broker::AccessPolicy::SameUser(),
      const LinkOptions& link_options = {},
      const broker::BrokerConnectOptions& connect_options = {});

  // Stops accepting, closes every link, and joins every thread.
  void Shutdown();

  // Links being served now.
  size_t live_links() const;

 private:
  ServerOptions options_;
  std::unique_ptr<WorkerPool> pool_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<LinkSession>> sessions_;
  std::vector<std::thread> acceptors_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_SERVER_H_
