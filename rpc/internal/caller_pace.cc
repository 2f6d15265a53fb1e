#include "rpc/internal/caller_pace.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace syslink::rpc::internal {
namespace {

// Links of this process that follow their callers now.
std::atomic<int> following_links{0};

int MaxFollowing() {
  static const int max = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  return max;
}

// Each new wait counts for this share of the mean: a pace change shows within a few calls.
constexpr int64_t kMeanWeight = 4;

}  // namespace

CallerPace::CallerPace(absl::Duration budget, absl::Duration limit)
    : budget_(budget), limit_(limit) {}

CallerPace::~CallerPace() { Follow(false); }

void CallerPace::Arrived(absl::Duration waited) {
  if (limit_ <= budget_) return;
  const int64_t ns = absl::ToInt64Nanoseconds(waited);
  mean_ns_ = mean_ns_ < 0 ? ns : mean_ns_ + (ns - mean_ns_) / kMeanWeight;
  const absl::Duration mean = absl::Nanoseconds(mean_ns_);
  // A caller within the plain budget needs nothing more; one slower than the limit is not
  // worth a CPU.
  const bool follow = mean * 2 > budget_ && mean < limit_;
  if (follow) follow_budget_ = std::min(mean * 2, limit_);
  Follow(follow);
}

void CallerPace::Follow(bool follow) {
  if (follow == following_) return;
  if (!follow) {
    following_links.fetch_sub(1, std::memory_order_relaxed);
    following_ = false;
    return;
  }
  int now = following_links.load(std::memory_order_relaxed);
  do {
    if (now >= MaxFollowing()) return;  // every place is taken: the plain budget
  } while (!following_links.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  following_ = true;
}

}  // namespace syslink::rpc::internal
