// SpinPlace: the machine's places are shared by its processes, each held once, and a place
// whose holder is killed is free again. Real processes, in a directory of the test's own.

#include "rpc/internal/spin_place.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace syslink::rpc::internal {
namespace {

using ::syslink::testing::ChildProcess;

// The places live in the test's own directory, named before any is taken, so that servers
// of other tests running beside this one hold none of them.
const bool kOwnDirectory = [] {
  const char* tmp = std::getenv("TEST_TMPDIR");
  setenv("SYSLINK_SPIN_PLACES", tmp != nullptr ? tmp : "/tmp", /*overwrite=*/1);
  return true;
}();

std::vector<SpinPlace> TakeAll() {
  std::vector<SpinPlace> places;
  for (int i = 0; i < SpinPlace::Count(); ++i) {
    std::optional<SpinPlace> place = SpinPlace::TryTake();
    EXPECT_TRUE(place.has_value()) << "place " << i << " of " << SpinPlace::Count();
    if (place.has_value()) places.push_back(*std::move(place));
  }
  return places;
}

// A child's exit code: 0 if it could take a place, 1 if not.
int TakesAPlace() { return SpinPlace::TryTake().has_value() ? 0 : 1; }

TEST(SpinPlaceTest, ThereIsOneFewerThanTheMachinesCpusAtLeastOne) {
  EXPECT_GE(SpinPlace::Count(), 1);
  EXPECT_EQ(SpinPlace::Count(), std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1));
}

TEST(SpinPlaceTest, EachPlaceIsHeldOnce) {
  std::vector<SpinPlace> places = TakeAll();
  ASSERT_EQ(static_cast<int>(places.size()), SpinPlace::Count());
  EXPECT_FALSE(SpinPlace::TryTake().has_value());  // every place is held
  places.pop_back();                               // frees one
  EXPECT_TRUE(SpinPlace::TryTake().has_value());
}

TEST(SpinPlaceTest, AnotherProcessFindsThePlacesHeld) {
  std::optional<std::vector<SpinPlace>> places = TakeAll();
  EXPECT_EQ(ChildProcess::Fork(TakesAPlace).Wait(), ChildProcess::Exited(1));
  places.reset();
  EXPECT_EQ(ChildProcess::Fork(TakesAPlace).Wait(), ChildProcess::Exited(0));
}

TEST(SpinPlaceTest, AKilledHoldersPlacesAreFree) {
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  ChildProcess holder = ChildProcess::Fork([&] {
    std::vector<SpinPlace> places = TakeAll();
    if (static_cast<int>(places.size()) != SpinPlace::Count()) return 1;
    const char byte = 'h';
    if (write(ready[1], &byte, 1) != 1) return 2;
    pause();
    return 0;
  });
  close(ready[1]);
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the holder did not take the places";
  close(ready[0]);
  EXPECT_FALSE(SpinPlace::TryTake().has_value());
  holder.Kill();  // kill -9, holding every place
  EXPECT_EQ(holder.Wait(), ChildProcess::KilledBy(9));
  EXPECT_TRUE(SpinPlace::TryTake().has_value());
}

}  // namespace
}  // namespace syslink::rpc::internal
