// Eventually(): waits until a condition holds, for tests.
//
//   ASSERT_TRUE(Eventually([&] { return server.live_links() == 0; }));
//
// Looks at `condition` every 100 microseconds until it holds or `timeout` passes, and
// returns whether it held. For state another thread or process changes with no signal a
// test can wait on; the timeout only bounds a failing test, never decides what a passing
// one covers.
//
// Thread safety: `condition` runs on the calling thread.

#ifndef SYSLINK_TESTS_SUPPORT_EVENTUALLY_H_
#define SYSLINK_TESTS_SUPPORT_EVENTUALLY_H_

#include "absl/functional/function_ref.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace syslink::testing {

inline bool Eventually(absl::FunctionRef<bool()> condition,
                       absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= give_up) return condition();
    absl::SleepFor(absl::Microseconds(100));
  }
  return true;
}

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_EVENTUALLY_H_
