// The randomized exerciser (exercise/exerciser.h) through a real mount: system calls on
// files of a mounted memfs, checked against the model, with each way the mount caches data
// (and with the writeback cache).

#include <memory>
#include <string>
#include <vector>

#include "examples/fs/exercise/exerciser.h"
#include "examples/fs/exercise/posix_ops.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

class FsMountExerciseTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FsMountExerciseTest, MatchesTheModel) {
  if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
  absl::StatusOr<std::unique_ptr<MountedMemfs>> fs =
      MountedMemfs::Start({GetParam()}, {"--size", "256M"});
  ASSERT_TRUE(fs.ok()) << fs.status();
  PosixOps ops((*fs)->mountpoint());
  absl::Status s = Exercise(ops, {.seed = 31, .operations = 1500});
  EXPECT_TRUE(s.ok()) << s << "\nfs_mount said:\n" << (*fs)->MountLog();
}

INSTANTIATE_TEST_SUITE_P(CacheModes, FsMountExerciseTest,
                         ::testing::Values("--cache=keep", "--cache=open", "--cache=direct",
                                           "--writeback"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           const std::string flag(info.param + 2);  // without "--"
                           const size_t equals = flag.find('=');
                           return equals == std::string::npos ? flag : flag.substr(equals + 1);
                         });

}  // namespace
}  // namespace syslink::examples::fs
