// Server: serves Services over links, from a few threads however many links there are.
//
//   EchoServiceImpl service;
//   syslink::rpc::Server server;
//   absl::Status s = server.ServeBroker(&service);       // registered as "echo.EchoService"
//   ...
//   server.Shutdown();                                     // or, from main: server.Wait()
//
// For each request on a link the server finds the method by id (Service::Dispatch) and
// replies with the method's status and response. An unknown method gets UNIMPLEMENTED, a
// request that does not parse INVALID_ARGUMENT, and a method that throws UNKNOWN naming the
// exception (as from a gRPC server); the server goes on serving. A client that
// dies is simply gone: replies to it fail quietly and its session ends at once, freeing
// what the link held.
//
// Threads: an idle link costs no thread, only its memory and descriptors: it waits in one
// epoll set (rpc/internal/session_scheduler.h). When a message arrives, a thread takes the
// link and serves it until it is idle again, spinning on its ring as the link's wait mode
// says, so a busy link is served as by a thread of its own. Threads are started as links
// become busy at once (up to ServerOptions::max_threads) and end when they are no longer
// needed. Each ServeBroker() registration has one more thread, which takes new links.
//
// With ServerOptions::workers == 0 (the default) a link's methods run on the thread that
// serves the link, one at a time: the lowest latency, and responses and response
// attachments go straight into the link's memory. With workers > 0, requests from every
// link go to a pool of that many threads, so one link's calls can run in parallel; a worker
// sends its reply itself when no thread serves the link at that moment.
//
// Health: every link also serves grpc.health.v1.Health (health_service.h), whose Check and
// Watch report each service SERVING until Shutdown().
//
// Limits: at construction the server raises its RLIMIT_NOFILE to the hard limit. A link
// costs three descriptors; the server refuses a link beyond ServerOptions::max_links
// (by default what the descriptor limit allows, less a reserve) before the client gets it:
// the client's ConnectToService fails with RESOURCE_EXHAUSTED naming the service. (Links
// admitted at once by acceptors of several services may still find the limit reached
// when they are added: such a link closes at once, and its client sees PEER_DIED.)
//
// Thread safety: all methods may be called from any thread (Shutdown() not from a method).
// Ownership: services are not owned and must outlive the server; the server owns its
// links and threads, and Shutdown() (or destruction) closes the links and joins the
// threads. Shutdown(deadline) lets calls in flight finish until the deadline, then tells
// the methods still running (ServerContext::cancelled()); either way their replies are
// sent before their links close, except to a client that reads none: a reply that finds
// no room in its ring (or the arena) for 10 ms once the server stops closes the link
// (Link::SetStopFlag), and the client's calls left get PEER_DIED. Before that, such a reply
// waits ServerOptions::reply_patience at most.

#ifndef SYSLINK_RPC_SERVER_H_
#define SYSLINK_RPC_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "rpc/context.h"
#include "rpc/health_service.h"
#include "rpc/interceptor.h"
#include "rpc/service.h"
#include "syslink/broker/client.h"
#include "syslink/link.h"

namespace syslink::rpc {

struct ServerOptions {
  // Threads of a pool that runs the methods (0: on the thread serving the link).
  int workers = 0;
  // Links served at once; 0: what RLIMIT_NOFILE allows (three descriptors a link, less a
  // reserve of 64 for the service's own use).
  size_t max_links = 0;
  // Threads serving links at once (methods running, links spinning).
  int max_threads = 256;
  // A hybrid link whose caller keeps calling again soon after each reply, but later than
  // the link's spin budget (a gateway relaying network calls, say), spins for up to this
  // long after a reply so that the next call finds its thread awake instead of asleep in
  // epoll, a cross-CPU wake-up away (rpc/internal/caller_pace.h). At most one link fewer
  // than the machine has CPUs (at least one) does so at a time on the machine, whatever
  // process serves it (rpc/internal/spin_place.h); while a caller keeps that pace, the
  // link keeps a CPU busy. Zero: every link spins for its spin budget only.
  absl::Duration follow_caller = absl::Milliseconds(1);
  // How long a reply may wait for room (in its client's ring, or in the server's DMA
  // arena for replies that spill) with nothing from the client meanwhile, before the server
  // gives up on the client: it closes the link (Link::SetPatience), and the client's calls
  // left get PEER_DIED. So a client that reads none of its replies, or keeps the buffers
  // they carry, holds the thread answering it this long at most, not until it dies. A
  // client that reads them, however slowly, is not cut off. InfiniteDuration(): no limit.
  absl::Duration reply_patience = absl::Seconds(60);
  // Run around every call to every service served, health checks included, in this order
  // (interceptor.h). With any, a response is copied once more on its way out.
  std::vector<std::shared_ptr<ServerInterceptor>> interceptors;
};

namespace internal {
class WorkerPool;
class SessionScheduler;
}  // namespace internal

// How Server::ServeBroker() registers a service.
struct ServeBrokerOptions {
  std::string name;  // the name clients connect to; empty: the service's full name
  broker::AccessPolicy policy = broker::AccessPolicy::SameUser();  // who may connect
  LinkOptions link;                     // the links the broker makes for the service
  broker::BrokerConnectOptions broker;  // how to reach (or start) the broker
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves `service` on `link` until the link closes or Shutdown(). Past max_links, or
  // after Shutdown(), the link is closed at once (the peer sees PEER_DIED).
  void ServeLink(Service* service, Link link, PeerIdentity peer = {});

  // Registers the service with the broker as `options` say, and serves every client that
  // connects, until Shutdown(). Each link's PeerIdentity is the client the broker
  // attested, with its supplementary groups (SO_PEERGROUPS). Returns once registered, or
  // why registering failed.
  //
  //   server.ServeBroker(&service);                            // its full name, same uid
  //   server.ServeBroker(&service, {.name = "kv.Replica2",
  //                                 .policy = {.allowed_gids = {kStaffGid}}});
  [[nodiscard]] absl::Status ServeBroker(Service* service, const ServeBrokerOptions& options = {});

  // Shuts the server down gently: stops accepting links (the broker forgets its names),
  // answers every new call and stream with UNAVAILABLE, and lets the calls and streams in
  // flight run until `deadline`. A link whose calls have all answered closes at once. At the
  // deadline, methods still running see ServerContext::cancelled(); each still answers (one
  // that returns CANCELLED answers UNAVAILABLE). Returns once every link is closed and
  // every thread joined: not before the last method returned.
  void Shutdown(absl::Time deadline);
  // Shutdown(absl::InfinitePast()): running methods see cancelled() at once, and calls
  // the server has not taken yet end with their links (the caller sees PEER_DIED).
  void Shutdown();

  // Waits until Shutdown() (called by another thread) has finished. A main that stops on
  // SIGINT or SIGTERM uses StopSignals (stop_signals.h) instead.
  void Wait();

  // The status grpc.health.v1.Health reports for `service` ("" for the whole server). A
  // service the server serves is SERVING from its first link or registration; Shutdown()
  // sets everything NOT_SERVING (health_service.h).
  void SetServingStatus(const std::string& service, ServingStatus status) {
    health_.SetServingStatus(service, status);
  }

  // Links being served now.
  size_t live_links() const;
  // Threads serving links now (not counting acceptors and workers).
  int serving_threads() const;
  // The most links served at once (ServerOptions::max_links, or the default it stands for).
  size_t max_links() const { return max_links_; }

 private:
  // What serves `service`'s links: the service with the health service beside it, and
  // behind the interceptors; made on first use.
  Service* WithHealthOf(Service* service);
  // OK while a link more can be served; RESOURCE_EXHAUSTED naming `name` otherwise.
  absl::Status Admit(const std::string& name) const;
  void Accept(Service* service, broker::ServiceRegistration& registration);

  // Set by the constructor and never changed.
  ServerOptions options_;
  size_t max_links_;

  HealthService health_;  // thread-safe
  struct Served {
    std::unique_ptr<WithHealth> with_health;          // null when it serves health itself
    std::unique_ptr<InterceptedService> intercepted;  // null without interceptors
    Service* top = nullptr;                           // what the links call
  };
  // Before scheduler_, which refers to them.
  absl::flat_hash_map<Service*, Served> with_health_ ABSL_GUARDED_BY(mutex_);
  // Made by the constructor, thread-safe, and dropped only by the destructor.
  std::unique_ptr<internal::WorkerPool> pool_;
  std::unique_ptr<internal::SessionScheduler> scheduler_;
  UniqueFd stop_;  // an eventfd, readable once Shutdown() began: ends the acceptors
  absl::Mutex mutex_;
  absl::CondVar shut_down_changed_;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;  // Shutdown() has finished
  std::vector<std::thread> acceptors_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_SERVER_H_
