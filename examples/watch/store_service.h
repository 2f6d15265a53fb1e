// StoreService: the watch example's service (watch.proto) over a WatchableMap.
//
//   WatchableMap map;
//   StoreService service(&map);
//   syslink::rpc::Server server;
//   server.ServeBroker(&service);   // registers "syslink.examples.watch.Store"
//   ...
//   map.Stop();                     // every Watch returns at once,
//   server.Shutdown();              // so Shutdown() does not wait for them
//
// Watch holds one subscription to the map and writes each change as the map queues it;
// the runtime runs it on a thread of its own. A watcher whose client went away is dropped:
// its Write() returns false (the client died, closed its link, cancelled, or its deadline
// passed), the method returns and the subscription ends. While no change comes, the
// client's leaving wakes the method (ServerContext::OnCancel), and so does its deadline.
//
// Thread safety: the methods run on many threads at once; the map is thread-safe.
// Ownership: `map` must outlive the service.
// Errors: those of WatchableMap (INVALID_ARGUMENT, NOT_FOUND). Watch ends with CANCELLED
// when its client went away, UNAVAILABLE when the map stopped, RESOURCE_EXHAUSTED when the
// client fell too far behind. PutMany ends with the first refused put's status, naming it.

#ifndef SYSLINK_EXAMPLES_WATCH_STORE_SERVICE_H_
#define SYSLINK_EXAMPLES_WATCH_STORE_SERVICE_H_

#include "examples/watch/watch.syslink.h"
#include "examples/watch/watchable_map.h"

namespace syslink::examples::watch {

class StoreService final : public Store {
 public:
  explicit StoreService(WatchableMap* map) : map_(map) {}

  absl::Status Put(rpc::ServerContext& context, const PutRequest& request,
                   PutResponse* response) override;
  absl::Status Get(rpc::ServerContext& context, const GetRequest& request,
                   GetResponse* response) override;
  // Writes a first Change with only the start revision, then every change as it comes.
  absl::Status Watch(rpc::ServerContext& context, const WatchRequest& request,
                     rpc::ServerWriter<Change>* writer) override;
  absl::Status PutMany(rpc::ServerContext& context, rpc::ServerReader<PutRequest>* reader,
                       PutManySummary* response) override;

 private:
  WatchableMap* const map_;
};

}  // namespace syslink::examples::watch

#endif  // SYSLINK_EXAMPLES_WATCH_STORE_SERVICE_H_
