// Deadlines and waits for tests: how long anything may take before a test calls it a hang,
// and Eventually(), which waits until a condition holds.
//
//   absl::StatusOr<Message> reply = client.Call(kEcho, AsBytes("hi"), {}, Soon());
//   ASSERT_TRUE(Eventually([&] { return server.live_links() == 0; }));
//
// Soon() is the deadline for one step that should end promptly. Eventually() looks at
// `condition` every `interval` (100 microseconds unless told) until it holds or `timeout`
// passes, and returns whether it held; a longer interval suits a condition that costs the
// other side work to answer, such as a call to the broker. It is for state another thread
// or process changes with no signal a test can wait on; the timeout only bounds a failing
// test, never decides what a passing one covers.
//
// Thread safety: `condition` runs on the calling thread.

#ifndef SYSLINK_TESTS_SUPPORT_EVENTUALLY_H_
#define SYSLINK_TESTS_SUPPORT_EVENTUALLY_H_

#include "absl/functional/function_ref.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace syslink::testing {

// How long anything may take before the test calls it a hang.
inline constexpr absl::Duration kPatience = absl::Seconds(10);

// The deadline of a step that should end promptly: `patience` from now.
inline absl::Time Soon(absl::Duration patience = kPatience) { return absl::Now() + patience; }

inline bool Eventually(absl::FunctionRef<bool()> condition, absl::Duration timeout = kPatience,
                       absl::Duration interval = absl::Microseconds(100)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= give_up) return condition();
    absl::SleepFor(interval);
  }
  return true;
}

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_EVENTUALLY_H_
