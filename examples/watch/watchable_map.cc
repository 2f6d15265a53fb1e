#include "examples/watch/watchable_map.h"

#include <cstdlib>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace syslink::examples::watch {

WatchableMap::~WatchableMap() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!watchers_.empty()) std::abort();  // a Subscription would outlive its map
}

absl::StatusOr<WatchableMap::PutResult> WatchableMap::Put(std::string key, std::string value) {
  if (key.empty()) return absl::InvalidArgumentError("a key must not be empty");
  std::lock_guard<std::mutex> lock(mutex_);
  Change change;
  change.set_key(std::move(key));
  change.set_value(std::move(value));
  change.set_revision(++revision_);
  int queued = 0;
  for (Watcher& watcher : watchers_) {
    if (!watcher.ended.ok() || !absl::StartsWith(change.key(), watcher.prefix)) continue;
    if (watcher.queue.size() >= max_queued_) {
      watcher.ended = absl::ResourceExhaustedError(absl::StrCat(
          "the watch of \"", watcher.prefix, "\" fell ", max_queued_,
          " changes behind; it ended at revision ", revision_));
      watcher.queue.clear();
    } else {
      watcher.queue.push_back(change);
      ++queued;
    }
    watcher.changed.notify_one();
  }
  values_[change.key()] = change;
  return PutResult{.revision = revision_, .watchers = queued};
}

absl::StatusOr<Change> WatchableMap::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = values_.find(key);
  if (it == values_.end()) return absl::NotFoundError(absl::StrCat("no key \"", key, "\""));
  return it->second;
}

std::unique_ptr<WatchableMap::Subscription> WatchableMap::Subscribe(std::string prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  Watcher& watcher = watchers_.emplace_back();
  watcher.prefix = std::move(prefix);
  if (stopped_) watcher.ended = absl::UnavailableError("the store is stopping");
  return std::unique_ptr<Subscription>(
      new Subscription(this, std::prev(watchers_.end()), revision_));
}

void WatchableMap::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  for (Watcher& watcher : watchers_) {
    if (watcher.ended.ok()) watcher.ended = absl::UnavailableError("the store is stopping");
    watcher.changed.notify_one();
  }
}

size_t WatchableMap::subscriptions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watchers_.size();
}

WatchableMap::Subscription::~Subscription() {
  std::lock_guard<std::mutex> lock(map_->mutex_);
  map_->watchers_.erase(watcher_);
}

WatchableMap::Subscription::Next WatchableMap::Subscription::Take(absl::Time deadline,
                                                                  Change* change) {
  std::unique_lock<std::mutex> lock(map_->mutex_);
  Watcher& watcher = *watcher_;
  auto ready = [&watcher] { return !watcher.queue.empty() || !watcher.ended.ok(); };
  if (deadline == absl::InfiniteFuture()) {
    watcher.changed.wait(lock, ready);
  }
  while (!ready()) {  // a deadline in the past never reaches the clock conversion
    if (absl::Now() >= deadline) return Next::kTimedOut;
    watcher.changed.wait_until(lock, absl::ToChronoTime(deadline));
  }
  if (watcher.queue.empty()) return Next::kEnded;
  *change = std::move(watcher.queue.front());
  watcher.queue.pop_front();
  return Next::kChange;
}

absl::Status WatchableMap::Subscription::status() const {
  std::lock_guard<std::mutex> lock(map_->mutex_);
  return watcher_->ended;
}

}  // namespace syslink::examples::watch
