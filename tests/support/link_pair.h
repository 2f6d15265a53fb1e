// Link pairs for tests: options sized for a test, a pair made or the test failed, and the
// names of wait-mode parameters.
//
//   auto [client, server] = MakePair(Options(ring::WaitMode::kSpin));
//   INSTANTIATE_TEST_SUITE_P(Modes, MyTest, ::testing::Values(...), ModeName);
//
// Errors: a pair that cannot be made fails the calling test (EXPECT_*) and comes back
// empty. Thread safety: as Link: each end is used by one thread at a time.

#ifndef SYSLINK_TESTS_SUPPORT_LINK_PAIR_H_
#define SYSLINK_TESTS_SUPPORT_LINK_PAIR_H_

#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "ring/wait_mode.h"
#include "syslink/link.h"
#include "syslink/link_options.h"

namespace syslink::testing {

LinkOptions Options(ring::WaitMode mode = ring::WaitMode::kHybrid,
                    uint64_t ring_capacity = 256 * 1024, uint64_t arena_size = 4 * 1024 * 1024);

// A new pair of ends; a failure to make it fails the test.
LinkPair MakePair(const LinkOptions& options = Options());

// Names the instances of a test parameterized by wait mode: "spin", "hybrid", "blocking".
std::string ModeName(const ::testing::TestParamInfo<ring::WaitMode>& info);

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_LINK_PAIR_H_
