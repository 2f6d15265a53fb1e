// The file service over gRPC: memfs behind a syslink-gateway, fs_mount reaching it with
// --grpc, real tools through the mount. Read and Write carry their data as attachments,
// framed in the gRPC messages (docs/grpc.md).

#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ChildProcess;
using ::testing::HasSubstr;

class FsMountGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs = MountedMemfs::StartThroughGateway();
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }
  std::string Local(const std::string& name) const { return fs_->scratch() + "/" + name; }

  std::unique_ptr<MountedMemfs> fs_;
};

TEST_F(FsMountGrpcTest, MountsThroughTheGateway) {
  EXPECT_THAT(fs_->grpc_target(), HasSubstr("unix:"));
  struct stat st;
  ASSERT_EQ(stat(fs_->mountpoint().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(FsMountGrpcTest, CpAndDiffRecursiveAgreeByteForByte) {
  // A tree with files of sizes around the 128 KiB of one Read or Write.
  RunToolOk({"mkdir", "-p", Local("tree/sub/deeper"), Local("tree/empty")});
  const size_t sizes[] = {0, 1, 4095, 4096, 131071, 131072, 131073, 3 * 131072 + 17, 1 << 20};
  unsigned seed = 1;
  for (size_t size : sizes) {
    WriteRandomFile(Local(absl::StrCat("tree/f", size)), size, seed++);
    WriteRandomFile(Local(absl::StrCat("tree/sub/deeper/g", size)), size, seed++);
  }
  RunToolOk({"ln", "-s", "f4096", Local("tree/link")});
  RunToolOk({"cp", "-a", Local("tree"), fs_->Path("tree")});
  RunToolOk({"diff", "-r", "--no-dereference", Local("tree"), fs_->Path("tree")});
  RunToolOk({"cp", "-a", fs_->Path("tree"), Local("back")});
  RunToolOk({"diff", "-r", "--no-dereference", Local("tree"), Local("back")});
}

TEST_F(FsMountGrpcTest, DdWritesAndReadsLargeBlocks) {
  RunToolOk({"dd", "if=/dev/urandom", "of=" + Local("big"), "bs=1M", "count=8", "status=none"});
  RunToolOk({"dd", "if=" + Local("big"), "of=" + fs_->Path("big"), "bs=1M", "status=none"});
  RunToolOk({"cmp", Local("big"), fs_->Path("big")});
}

TEST_F(FsMountGrpcTest, AMemfsRestartIsSeenThroughTheGateway) {
  WriteRandomFile(Local("f"), 1000, 7);
  RunToolOk({"cp", Local("f"), fs_->Path("f")});
  fs_->KillMemfs();
  // The old server's files are gone with it: the mount says the server is away (ENOTCONN,
  // or ESTALE once a new epoch began) instead of hanging.
  ToolRun gone = RunTool({"cat", fs_->Path("f")});
  EXPECT_NE(gone.how, ChildProcess::Exited(0));
  ASSERT_TRUE(fs_->StartMemfs().ok());
  // fs_mount redials through the gateway; the new memfs is empty and writable.
  EXPECT_TRUE(::syslink::testing::Eventually([&] {
    return RunTool({"ls", fs_->mountpoint()}).how == ChildProcess::Exited(0);
  }));
  RunToolOk({"cp", Local("f"), fs_->Path("again")});
  RunToolOk({"cmp", Local("f"), fs_->Path("again")});
}

}  // namespace
}  // namespace syslink::examples::fs
