// CallerPace: how long the thread serving a link spins for its caller's next call.
//
//   CallerPace pace(wait.spin_budget, options.follow_caller);
//   absl::Duration budget = pace.Budget();     // spin this long, then park
//   pace.Arrived(waited);                      // the next call came `waited` after the wait began
//
// After each reply, a hybrid link spins for its spin budget (50 us by default) and then
// its session parks in epoll: the next call pays a cross-CPU wake-up, tens of
// microseconds on a VM. A caller that calls again at a steady pace a little slower than
// the budget (syslink-gateway relaying gRPC calls, each a network round trip after the
// last) pays that wake-up on every call. CallerPace keeps a running mean of the waits that
// ended in a call, and while that mean is under `limit` it has the link spin up to twice
// the mean (never less than the budget, never more than `limit`), so the next call finds
// the thread awake.
//
// CPUs are shared by the whole machine: a link follows its caller only while it holds one
// of the machine's spin places (spin_place.h), one fewer than it has CPUs (at least one),
// shared by every process. The others keep the plain budget, so servers with many steady
// callers do not take every CPU spinning. A link that found every place taken asks again
// after 16 more calls, then 32, up to 1,024; a link that parks gives its place up, and
// asks again when a call wakes it.
//
// Thread safety: one thread at a time (the one serving the session).

#ifndef SYSLINK_RPC_INTERNAL_CALLER_PACE_H_
#define SYSLINK_RPC_INTERNAL_CALLER_PACE_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "rpc/internal/spin_place.h"

namespace syslink::rpc::internal {

class CallerPace {
 public:
  // `budget`: the link's own spin budget. `limit`: the longest spin to follow a caller
  // (zero or less than `budget`: never more than `budget`).
  CallerPace(absl::Duration budget, absl::Duration limit);
  ~CallerPace() = default;  // frees its place, if it holds one
  CallerPace(const CallerPace&) = delete;
  CallerPace& operator=(const CallerPace&) = delete;

  // How long to spin for the next call.
  absl::Duration Budget() const { return place_.has_value() ? follow_budget_ : budget_; }

  // A call came `waited` after the wait for it began (a parked session: when the thread
  // woke for it, wake-up included).
  void Arrived(absl::Duration waited);

  // The link parks (it spins no more until a call wakes it): frees its place, if it holds
  // one. The pace it learnt stays.
  void Parked();

  // Whether this link follows its caller now (for tests).
  bool following() const { return place_.has_value(); }

 private:
  void Follow(bool follow);

  const absl::Duration budget_;
  const absl::Duration limit_;
  int64_t mean_ns_ = -1;            // running mean of the waits that ended in a call; -1: none yet
  std::optional<SpinPlace> place_;  // held while following
  int calls_before_asking_ = 0;     // for a place, after every one was found taken
  int refusals_ = 0;                // asks in a row that found every place taken, up to 6
  absl::Duration follow_budget_;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_CALLER_PACE_H_
