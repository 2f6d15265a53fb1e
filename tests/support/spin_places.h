// SpinPlacesLine(): a benchmark's line on the machine's spin places
// (rpc/internal/spin_place.h), read before it starts servers of its own.
//
//   const std::string places = SpinPlacesLine();   // first thing in main()
//   ... run the benchmarks, print the summary ...
//   printf("%s\n", places.c_str());
//
// A hybrid server's link follows its caller only while it holds a place. A process left
// running from earlier work that holds every place turns following off for the whole run,
// and the figures of hybrid links then read slower for a reason the run would not show:
// the line names each holder, e.g.
//   "spin places: 1 of 1 free"
//   "spin places: 0 of 1 free (held by pid 4242, memfs): hybrid links here may not follow"
//
// Thread safety: any thread. Errors: none (a holder whose name cannot be read is "?").

#ifndef SYSLINK_TESTS_SUPPORT_SPIN_PLACES_H_
#define SYSLINK_TESTS_SUPPORT_SPIN_PLACES_H_

#include <string>

namespace syslink::testing {

std::string SpinPlacesLine();

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_SPIN_PLACES_H_
