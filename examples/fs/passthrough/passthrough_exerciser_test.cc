// The randomized exerciser (exercise/exerciser.h) through FsClient against the passthrough
// server, on every transport; afterwards the host directory must hold what the client
// reads.

#include <string>
#include <vector>

#include "examples/fs/exercise/exerciser.h"
#include "examples/fs/exercise/fs_client_ops.h"
#include "examples/fs/exercise/posix_ops.h"
#include "examples/fs/passthrough/passthrough_testing.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using PassthroughExerciseTest = PassthroughTest;

TEST_P(PassthroughExerciseTest, MatchesTheModelAndTheHost) {
  FsClientOps client(&fs());
  PosixOps host(HostPath(""));
  absl::Status s = Exercise(client, {.seed = 21, .operations = 1500});
  ASSERT_TRUE(s.ok()) << s;
  for (const std::string dir : {"", "sub"}) {
    std::vector<std::string> names;
    ASSERT_EQ(host.List(dir, &names), 0);
    for (const std::string& name : names) {
      std::string path = dir.empty() ? name : dir + "/" + name;
      if (path == "sub") continue;
      std::string through_client, on_host;
      ASSERT_EQ(client.Read(path, 0, 1 << 22, &through_client), 0) << path;
      ASSERT_EQ(host.Read(path, 0, 1 << 22, &on_host), 0) << path;
      EXPECT_TRUE(through_client == on_host) << path << ": the host holds other bytes";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, PassthroughExerciseTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
