// WatchableMap: the watch example's key-value map, and subscriptions to its key prefixes.
//
//   WatchableMap map;
//   std::unique_ptr<WatchableMap::Subscription> watch = map.Subscribe("config/");
//   map.Put("config/a", "1");                              // queued for `watch`
//   Change change;
//   watch->Take(absl::InfiniteFuture(), &change);          // config/a = 1, revision 1
//
// Every Put gets the next revision (1, 2, ...) and, under the map's one lock, is queued for
// every subscription whose prefix its key starts with. So a subscription sees each change
// after its start revision exactly once, in revision order, however many threads put at
// once; and a Put never waits for a subscriber. A subscription holds at most
// `max_queued` changes not yet taken: one that falls further behind ends with
// RESOURCE_EXHAUSTED (its queue is dropped) instead of growing without bound.
//
// Thread safety: all methods from any thread; a Subscription's Take() from one thread at
// a time. Ownership: the map must outlive its subscriptions; destroying one ends it.
// Errors: Put of an empty key is INVALID_ARGUMENT; Get of a key never put, NOT_FOUND. A
// subscription ends with UNAVAILABLE after Stop() (once it has taken what was queued
// before), or RESOURCE_EXHAUSTED when it fell behind.

#ifndef SYSLINK_EXAMPLES_WATCH_WATCHABLE_MAP_H_
#define SYSLINK_EXAMPLES_WATCH_WATCHABLE_MAP_H_

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "examples/watch/watch.pb.h"

namespace syslink::examples::watch {

class WatchableMap {
 public:
  static constexpr size_t kDefaultMaxQueued = 4096;

  class Subscription;

  struct PutResult {
    int64_t revision;  // the map's revision after the put
    int watchers;      // the subscriptions the change was queued for
  };

  explicit WatchableMap(size_t max_queued = kDefaultMaxQueued) : max_queued_(max_queued) {}
  WatchableMap(const WatchableMap&) = delete;
  WatchableMap& operator=(const WatchableMap&) = delete;
  ~WatchableMap();  // the map must have no subscriptions left

  // Stores `value` under `key` and queues the change for the subscriptions of its prefixes.
  [[nodiscard]] absl::StatusOr<PutResult> Put(std::string key, std::string value);

  // The last change to `key`: its value and revision.
  [[nodiscard]] absl::StatusOr<Change> Get(const std::string& key) const;

  // Every change from now on to a key that starts with `prefix` (empty: every key).
  std::unique_ptr<Subscription> Subscribe(std::string prefix);

  // Ends every subscription, now and later ones, with UNAVAILABLE. Puts still work.
  void Stop();

  // Subscriptions not yet destroyed (ended ones too).
  size_t subscriptions() const;

 private:
  // One subscription's state. All of it is guarded by the map's mutex_ (which the analysis
  // cannot name from here); it is reached only through watchers_, which is.
  struct Watcher {
    std::string prefix;
    std::deque<Change> queue;
    absl::Status ended;  // OK while changes may still come
    absl::CondVar changed;
  };

  const size_t max_queued_;  // set before any thread can use the map
  // Under --config=tsan, ThreadSanitizer cannot see this lock order the map's accesses:
  // Debian's abseil is not built for it.
  mutable absl::Mutex mutex_;
  int64_t revision_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
  std::unordered_map<std::string, Change> values_ ABSL_GUARDED_BY(mutex_);
  std::list<Watcher> watchers_ ABSL_GUARDED_BY(mutex_);
};

class WatchableMap::Subscription {
 public:
  enum class Next { kChange, kTimedOut, kEnded };

  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  // The map's revision when the subscription began: the changes after it come.
  int64_t start_revision() const { return start_revision_; }

  // Takes the next queued change into `change`, waiting until `deadline` for one.
  // kEnded once the subscription has ended and nothing is queued: status() says why.
  [[nodiscard]] Next Take(absl::Time deadline, Change* change);

  // Ends the subscription with `why` (not OK) unless it ended already: a Take() waiting
  // returns, and those after it give what is queued, then kEnded. From any thread.
  void End(absl::Status why);

  // OK while the subscription lasts; then why it ended.
  absl::Status status() const;

 private:
  friend class WatchableMap;
  Subscription(WatchableMap* map, std::list<Watcher>::iterator watcher, int64_t start_revision)
      : map_(map), watcher_(watcher), start_revision_(start_revision) {}

  // All three are set at construction and never change; what watcher_ points to is
  // guarded by map_->mutex_.
  WatchableMap* const map_;
  const std::list<Watcher>::iterator watcher_;
  const int64_t start_revision_;
};

}  // namespace syslink::examples::watch

#endif  // SYSLINK_EXAMPLES_WATCH_WATCHABLE_MAP_H_
