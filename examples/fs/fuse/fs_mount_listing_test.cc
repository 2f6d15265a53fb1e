// Listings through a real mount of memfs and of the passthrough, which the kernel reads
// with readdirplus (ReadDirPlus: names with their attributes in one request): every name
// once, each with the inode number and attributes stat(2) then gives, over many pages.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::ScratchDirectory;

class MountListingTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    absl::StatusOr<std::unique_ptr<MountedMemfs>> fs =
        MountedMemfs::StartServer(GetParam(), host_.path());
    ASSERT_TRUE(fs.ok()) << fs.status();
    fs_ = *std::move(fs);
  }

  ScratchDirectory host_{"listing", 0755};
  std::unique_ptr<MountedMemfs> fs_;
};

TEST_P(MountListingTest, EveryNameOnceWithTheAttributesStatGives) {
  const std::string dir = fs_->Path("many");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  std::map<std::string, off_t> sizes;
  for (int i = 0; i < 600; ++i) {  // several readdirplus pages of 4 KiB
    const std::string name = absl::StrCat("a-rather-long-file-name-", i);
    const int fd = open((dir + "/" + name).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(write(fd, name.data(), i % 7), i % 7);
    close(fd);
    sizes[name] = i % 7;
  }
  ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0700), 0);
  DIR* listing = opendir(dir.c_str());
  ASSERT_NE(listing, nullptr);
  std::map<std::string, ino_t> seen;
  while (struct dirent* entry = readdir(listing)) {
    EXPECT_TRUE(seen.emplace(entry->d_name, entry->d_ino).second) << entry->d_name;
  }
  closedir(listing);
  EXPECT_EQ(seen.size(), sizes.size() + 3);  // ".", ".." and "sub" too
  for (const auto& [name, size] : sizes) {
    struct stat st;
    ASSERT_EQ(lstat((dir + "/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_size, size) << name;
    EXPECT_EQ(st.st_ino, seen[name]) << name;
  }
  struct stat sub;
  ASSERT_EQ(lstat((dir + "/sub").c_str(), &sub), 0);
  EXPECT_TRUE(S_ISDIR(sub.st_mode));
  EXPECT_EQ(sub.st_mode & 07777, 0700u);
}

INSTANTIATE_TEST_SUITE_P(Servers, MountListingTest,
                         ::testing::Values(Server::kMemfs, Server::kPassthrough), ServerName);

}  // namespace
}  // namespace syslink::examples::fs
