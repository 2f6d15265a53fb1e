#include "examples/fs/passthrough/passthrough_testing.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace syslink::examples::fs {

PassthroughTest::PassthroughTest(CallerAccess access)
    : PassthroughTest(PassthroughOptions{.access = access}) {}

PassthroughTest::PassthroughTest(PassthroughOptions options) : access_(options.access) {
  umask(0);
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string scratch = std::string(tmp != nullptr ? tmp : "/tmp") + "/passthrough-XXXXXX";
  if (mkdtemp(scratch.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << scratch << ": " << std::strerror(errno);
  }
  scratch_ = scratch;
  served_ = scratch_ + "/served";
  outside_ = scratch_ + "/outside";
  EXPECT_EQ(mkdir(served_.c_str(), 0755), 0);
  EXPECT_EQ(mkdir(outside_.c_str(), 0755), 0);
  HostWrite(outside_ + "/secret", "outside the served directory\n");
  absl::StatusOr<std::unique_ptr<PassthroughFs>> fs =
      PassthroughFs::Open(served_, std::move(options));
  EXPECT_TRUE(fs.ok()) << fs.status();
  if (fs.ok()) passthrough_ = *std::move(fs);
}

PassthroughTest::~PassthroughTest() {
  std::error_code ignored;
  std::filesystem::remove_all(scratch_, ignored);
}

void PassthroughTest::SetUp() {
  ASSERT_NE(passthrough_, nullptr);
  MemFsTest::SetUp();
}

struct stat PassthroughTest::HostStat(const std::string& relative) const {
  struct stat st = {};
  EXPECT_EQ(lstat(HostPath(relative).c_str(), &st), 0) << relative << ": " << std::strerror(errno);
  return st;
}

std::string PassthroughTest::HostRead(const std::string& path) {
  std::stringstream contents;
  contents << std::ifstream(path, std::ios::binary).rdbuf();
  return contents.str();
}

void PassthroughTest::HostWrite(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

}  // namespace syslink::examples::fs
