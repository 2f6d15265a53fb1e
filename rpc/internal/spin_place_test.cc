// SpinPlace: the machine's places are shared by its processes, each held once, and a place
// whose holder is killed is free again. Real processes, in a directory of the test's own.

#include "rpc/internal/spin_place.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process_event.h"

namespace syslink::rpc::internal {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::kPatience;
using ::syslink::testing::ProcessEvent;

// The places live in the test's own directory, named before any is taken, so that servers
// of other tests running beside this one hold none of them.
const char* const kDirectory = [] {
  const char* tmp = std::getenv("TEST_TMPDIR");
  static char made[] = "/tmp/spin_place_test.XXXXXX";
  const char* directory = tmp != nullptr ? tmp : mkdtemp(made);
  setenv("SYSLINK_SPIN_PLACES", directory, /*overwrite=*/1);
  return directory;
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
  ProcessEvent holding;
  ChildProcess holder = ChildProcess::Fork([&] {
    std::vector<SpinPlace> places = TakeAll();
    if (static_cast<int>(places.size()) != SpinPlace::Count()) return 1;
    holding.Notify();
    pause();
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(kPatience)) << "the holder did not take the places";
  EXPECT_FALSE(SpinPlace::TryTake().has_value());
  holder.Kill();  // kill -9, holding every place
  EXPECT_EQ(holder.Wait(), ChildProcess::KilledBy(9));
  EXPECT_TRUE(SpinPlace::TryTake().has_value());
}

TEST(SpinPlaceTest, AForkedChildHoldsNoneOfItsParentsPlaces) {
  std::optional<std::vector<SpinPlace>> places = TakeAll();
  ProcessEvent started;
  ChildProcess child = ChildProcess::Fork([&] {
    started.Notify();  // after fork()'s handlers, which closed the places' descriptors here
    pause();
    return 0;
  });
  ASSERT_TRUE(started.WaitFor(kPatience));
  places.reset();  // the child lives on, and holds nothing
  std::vector<SpinPlace> again = TakeAll();
  EXPECT_EQ(static_cast<int>(again.size()), SpinPlace::Count());
  child.Kill();
  EXPECT_EQ(child.Wait(), ChildProcess::KilledBy(9));
}

TEST(SpinPlaceTest, HoldersNamesWhoHoldsEachPlace) {
  EXPECT_EQ(SpinPlace::Holders(), std::vector<pid_t>(SpinPlace::Count(), 0));
  ProcessEvent holding;
  ChildProcess holder = ChildProcess::Fork([&] {
    std::optional<SpinPlace> place = SpinPlace::TryTake();
    if (!place.has_value()) return 1;
    holding.Notify();
    pause();
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(kPatience)) << "the holder did not take a place";
  std::optional<SpinPlace> mine = SpinPlace::TryTake();  // the one after the child's, if any
  std::vector<pid_t> holders = SpinPlace::Holders();
  ASSERT_EQ(static_cast<int>(holders.size()), SpinPlace::Count());
  EXPECT_EQ(std::count(holders.begin(), holders.end(), holder.pid()), 1);
  EXPECT_EQ(std::count(holders.begin(), holders.end(), getpid()), mine.has_value() ? 1 : 0);
  holder.Kill();
  EXPECT_EQ(holder.Wait(), ChildProcess::KilledBy(9));
  mine.reset();
  EXPECT_EQ(SpinPlace::Holders(), std::vector<pid_t>(SpinPlace::Count(), 0));
}

// Takes every place it can; how many.
int TakeWhatIsFree() {
  std::vector<SpinPlace> places;
  while (std::optional<SpinPlace> place = SpinPlace::TryTake()) places.push_back(*std::move(place));
  return static_cast<int>(places.size());
}

TEST(SpinPlaceTest, APathThatIsNotARegularFileIsNoPlace) {
  // Another user put at place 0's path a FIFO (which a reader's open would wait on), then
  // a symbolic link to a file of ours: neither is taken, and nothing waits.
  const std::string path = absl::StrCat(kDirectory, "/syslink-spin-place-0");
  const std::string target = absl::StrCat(kDirectory, "/not-a-place");
  UniqueFd file(open(target.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(file.valid());

  (void)unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0666), 0);
  EXPECT_EQ(TakeWhatIsFree(), SpinPlace::Count() - 1);

  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0);
  EXPECT_EQ(TakeWhatIsFree(), SpinPlace::Count() - 1);
  EXPECT_EQ(flock(file.get(), LOCK_EX | LOCK_NB), 0) << "the link's target was locked";

  ASSERT_EQ(unlink(path.c_str()), 0);  // a regular file is made again on the next take
  EXPECT_EQ(TakeWhatIsFree(), SpinPlace::Count());
}

}  // namespace
}  // namespace syslink::rpc::internal
