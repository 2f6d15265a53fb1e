#include "ring/bench/minimal_rings.h"

#include <memory>

#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace syslink::ring::bench {
namespace {

// Past two laps of every ring (1,024 or 512 slots; 910 records), so each wraps at least twice.
constexpr int kRoundTrips = 2100;

void ExpectEchoes(RoundTripper& echo) {
  for (int i = 0; i < kRoundTrips; ++i) ASSERT_TRUE(echo.RoundTrip()) << "round trip " << i;
}

TEST(MinimalRingsTest, CacheLineEchoes) {
  testing::PinToCpu(0);
  ExpectEchoes(*StartCacheLineEcho());
}

TEST(MinimalRingsTest, LineEachWayEchoes) {
  testing::PinToCpu(0);
  ExpectEchoes(*StartLineExchangeEcho());
}

TEST(MinimalRingsTest, StampedSlotsEchoAcrossLaps) {
  testing::PinToCpu(0);  // the peer spins on the other CPU
  ExpectEchoes(*StartStampedSlotEcho());
}

TEST(MinimalRingsTest, TwoLineSlotsEchoAcrossLaps) {
  testing::PinToCpu(0);
  ExpectEchoes(*StartTwoLineSlotEcho());
}

TEST(MinimalRingsTest, BareRingEchoesAcrossLaps) {
  testing::PinToCpu(0);
  ExpectEchoes(*StartBareRingEcho());
}

}  // namespace
}  // namespace syslink::ring::bench
