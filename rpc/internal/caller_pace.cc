#include "rpc/internal/caller_pace.h"

#include <algorithm>

namespace syslink::rpc::internal {
namespace {

// Each new wait counts for this share of the mean: a pace change shows within a few calls.
constexpr int64_t kMeanWeight = 4;
// After every place was found taken, a link asks again only after this many more calls,
// twice as many after each refusal up to the most: asking costs a few system calls for each
// of the machine's places.
constexpr int kFirstCallsBeforeAskingAgain = 16;
constexpr int kMostDoublings = 6;  // 16 << 6: 1,024 calls at the most

}  // namespace

CallerPace::CallerPace(absl::Duration budget, absl::Duration limit)
    : budget_(budget), limit_(limit) {}

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

void CallerPace::Parked() { place_.reset(); }

void CallerPace::Follow(bool follow) {
  if (follow == place_.has_value()) return;
  if (!follow) {
    place_.reset();
    return;
  }
  if (calls_before_asking_ > 0) {
    --calls_before_asking_;
    return;
  }
  place_ = SpinPlace::TryTake();  // none when every place is taken: the plain budget
  if (place_.has_value()) {
    refusals_ = 0;
    return;
  }
  calls_before_asking_ = kFirstCallsBeforeAskingAgain << refusals_;
  refusals_ = std::min(refusals_ + 1, kMostDoublings);
}

}  // namespace syslink::rpc::internal
