#include "examples/watch/watchable_map.h"

#include <cstdlib>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace syslink::examples::watch {

WatchableMap::~WatchableMap() {
  absl::MutexLock lock(&mutex_);
  if (!watchers_.empty()) std::abort();  // a Subscription would outlive its map
}

absl::StatusOr<WatchableMap::PutResult> WatchableMap::Put(std::string key, std::string value) {
  if (key.empty()) return absl::InvalidArgumentError("a key must not be empty");
  absl::MutexLock lock(&mutex_);
  Change change;
  change.set_key(std::move(key));
  change.set_value(std::move(value));
  change.set_revision(++revision_);
  int queued = 0;
  for (Watcher& watcher : watchers_) {
    if (!watcher.ended.ok() || !absl::StartsWith(change.key(), watcher.prefix)) continue;
    if (watcher.queue.size() >= max_queued_) {
      watcher.ended = absl::ResourceExhaustedError(
          absl::StrCat("the watch of \"", watcher.prefix, "\" fell ", max_queued_,
                       " changes behind; it ended at revision ", revision_));
      watcher.queue.clear();
    } else {
      watcher.queue.push_back(change);
      ++queued;
    }
    watcher.changed.Signal();
  }
  values_[change.key()] = change;
  return PutResult{.revision = revision_, .watchers = queued};
}

absl::StatusOr<Change> WatchableMap::Get(const std::string& key) const {
  absl::MutexLock lock(&mutex_);
  auto it = values_.find(key);
  if (it == values_.end()) return absl::NotFoundError(absl::StrCat("no key \"", key, "\""));
  return it->second;
}

std::unique_ptr<WatchableMap::Subscription> WatchableMap::Subscribe(std::string prefix) {
  absl::MutexLock lock(&mutex_);
  Watcher& watcher = watchers_.emplace_back();
  watcher.prefix = std::move(prefix);
  if (stopped_) watcher.ended = absl::UnavailableError("the store is stopping");
  return std::unique_ptr<Subscription>(
      new Subscription(this, std::prev(watchers_.end()), revision_));
}

void WatchableMap::Stop() {
  absl::MutexLock lock(&mutex_);
  stopped_ = true;
  for (Watcher& watcher : watchers_) {
    if (watcher.ended.ok()) watcher.ended = absl::UnavailableError("the store is stopping");
    watcher.changed.Signal();
  }
}

size_t WatchableMap::subscriptions() const {
  absl::MutexLock lock(&mutex_);
  return watchers_.size();
}

WatchableMap::Subscription::~Subscription() {
  absl::MutexLock lock(&map_->mutex_);
  map_->watchers_.erase(watcher_);
}

WatchableMap::Subscription::Next WatchableMap::Subscription::Take(absl::Time deadline,
                                                                  Change* change) {
  absl::MutexLock lock(&map_->mutex_);
  Watcher& watcher = *watcher_;
  // Wakes may be spurious: the loop looks again. A deadline in the past never waits.
  while (watcher.queue.empty() && watcher.ended.ok()) {
    if (absl::Now() >= deadline) return Next::kTimedOut;
    watcher.changed.WaitWithDeadline(&map_->mutex_, deadline);
  }
  if (watcher.queue.empty()) return Next::kEnded;
  *change = std::move(watcher.queue.front());
  watcher.queue.pop_front();
  return Next::kChange;
}

void WatchableMap::Subscription::End(absl::Status why) {
  absl::MutexLock lock(&map_->mutex_);
  Watcher& watcher = *watcher_;
  if (watcher.ended.ok()) watcher.ended = std::move(why);
  watcher.changed.Signal();
}

absl::Status WatchableMap::Subscription::status() const {
  absl::MutexLock lock(&map_->mutex_);
  return watcher_->ended;
}

}  // namespace syslink::examples::watch
