// Extended attributes through FsClient on every transport (the rules of other users on
// links only). Built against memfs (xattr_test) and the passthrough acting as each caller
// (passthrough_xattr_test, XATTR_TEST_PASSTHROUGH: the host file's own attributes).
//
// Identities: kAlice owns the files; kBob is another user; 0 is root.

#include <fcntl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

#ifdef XATTR_TEST_PASSTHROUGH
#include "examples/fs/passthrough/passthrough_testing.h"
#else
#include "examples/fs/memfs_testing.h"
#endif

namespace syslink::examples::fs {
namespace {

#ifdef XATTR_TEST_PASSTHROUGH
using Base = PassthroughTest;
#else
using Base = MemFsTest;
#endif

class XattrTest : public Base {
 protected:
  uint64_t File(const std::string& name, uint32_t mode = 0644) {
    FsClient::Created created = Ok(fs().Create(kRootIno, name, mode, O_WRONLY | O_EXCL));
    EXPECT_TRUE(fs().Release(created.entry.ino(), created.fh).ok());
    return created.entry.ino();
  }
  // A file of kAlice's, world-writable directory not needed: root makes it and gives it.
  uint64_t AlicesFile(FsClient& root, const std::string& name, uint32_t mode) {
    FsClient::Created created = Ok(root.Create(kRootIno, name, mode, O_WRONLY | O_EXCL));
    EXPECT_TRUE(root.Release(created.entry.ino(), created.fh).ok());
    SetAttrRequest chown;
    chown.set_ino(created.entry.ino());
    chown.set_valid(SET_ATTR_UID | SET_ATTR_GID);
    chown.set_uid(kAlice);
    chown.set_gid(kAlice);
    EXPECT_TRUE(root.SetAttr(chown).ok());
    return created.entry.ino();
  }
  static std::vector<std::string> Names(FsClient& client, uint64_t ino) {
    ListXattrResponse listed = Ok(client.ListXattr(ino));
    std::vector<std::string> names = absl::StrSplit(listed.names(), '\0', absl::SkipEmpty());
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_P(XattrTest, SetGetAndList) {
  const uint64_t f = File("f");
  ASSERT_EQ(Errno(fs().SetXattr(f, "user.a", "1")), "OK");
  ASSERT_EQ(Errno(fs().SetXattr(f, "user.b", std::string("2\0two", 5))), "OK");
  EXPECT_EQ(Ok(fs().GetXattr(f, "user.a")).value(), "1");
  EXPECT_EQ(Ok(fs().GetXattr(f, "user.b")).value(), std::string("2\0two", 5));
  EXPECT_EQ(Names(fs(), f), (std::vector<std::string>{"user.a", "user.b"}));
}

TEST_P(XattrTest, SizeZeroGivesTheSizeAndTooSmallIsErange) {
  const uint64_t f = File("f");
  ASSERT_EQ(Errno(fs().SetXattr(f, "user.a", "hello")), "OK");
  GetXattrResponse size = Ok(fs().GetXattr(f, "user.a", 0));
  EXPECT_EQ(size.size(), 5u);
  EXPECT_TRUE(size.value().empty());
  EXPECT_EQ(Errno(fs().GetXattr(f, "user.a", 2)), "ERANGE");
  EXPECT_EQ(Ok(fs().ListXattr(f, 0)).size(), 7u);  // "user.a\0"
  EXPECT_EQ(Errno(fs().ListXattr(f, 3)), "ERANGE");
}

TEST_P(XattrTest, CreateAndReplaceFlags) {
  const uint64_t f = File("f");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.a", "1", XATTR_FLAG_REPLACE)), "ENODATA");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.a", "1", XATTR_FLAG_CREATE)), "OK");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.a", "2", XATTR_FLAG_CREATE)), "EEXIST");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.a", "3", XATTR_FLAG_REPLACE)), "OK");
  EXPECT_EQ(Ok(fs().GetXattr(f, "user.a")).value(), "3");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.a", "4", XATTR_FLAG_CREATE | XATTR_FLAG_REPLACE)),
            "EINVAL");
}

TEST_P(XattrTest, RemovedOrMissingIsEnodata) {
  const uint64_t f = File("f");
  ASSERT_EQ(Errno(fs().SetXattr(f, "user.a", "1")), "OK");
  EXPECT_EQ(Errno(fs().RemoveXattr(f, "user.a")), "OK");
  EXPECT_EQ(Errno(fs().GetXattr(f, "user.a")), "ENODATA");
  EXPECT_EQ(Errno(fs().RemoveXattr(f, "user.a")), "ENODATA");
  EXPECT_TRUE(Names(fs(), f).empty());
}

TEST_P(XattrTest, DirectoriesHaveThemToo) {
  const uint64_t d = MakeDir(kRootIno, "d").ino();
  ASSERT_EQ(Errno(fs().SetXattr(d, "user.tag", "x")), "OK");
  EXPECT_EQ(Ok(fs().GetXattr(d, "user.tag")).value(), "x");
}

TEST_P(XattrTest, OtherNamespacesAreEopnotsupp) {
  const uint64_t f = File("f");
  EXPECT_EQ(Errno(fs().SetXattr(f, "system.posix_acl_access", "x")), "EOPNOTSUPP");
  EXPECT_EQ(Errno(fs().SetXattr(f, "nonamespace", "x")), "EOPNOTSUPP");
  EXPECT_EQ(Errno(fs().GetXattr(f, "os2.x")), "EOPNOTSUPP");
}

TEST_P(XattrTest, LongNamesAndValuesAreRefused) {
  const uint64_t f = File("f");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user." + std::string(251, 'n'), "x")), "ERANGE");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.big", std::string(kMaxXattrValue + 1, 'v'))), "E2BIG");
}

// What no system call can send: a NUL inside a name (a list would show it as two names),
// or a namespace with nothing after it.
TEST_P(XattrTest, ANulOrABareNamespaceIsEinval) {
  const uint64_t f = File("f");
  EXPECT_EQ(Errno(fs().SetXattr(f, std::string("user.a\0b", 8), "v")), "EINVAL");
  EXPECT_EQ(Errno(fs().GetXattr(f, std::string("user.a\0b", 8))), "EINVAL");
  EXPECT_EQ(Errno(fs().RemoveXattr(f, std::string("user.a\0b", 8))), "EINVAL");
  EXPECT_EQ(Errno(fs().SetXattr(f, "user.", "v")), "EINVAL");
  EXPECT_EQ(Errno(fs().GetXattr(f, "trusted.")), "EINVAL");
  EXPECT_TRUE(Names(fs(), f).empty());
}

TEST_P(XattrTest, TrustedNamesAreRootsAlone) {
  if (in_process()) GTEST_SKIP() << "an in-process caller is always this process";
  std::unique_ptr<FsClient> root = ConnectAs(0, 0);
  std::unique_ptr<FsClient> alice = ConnectAs(kAlice, kAlice);
  const uint64_t f = AlicesFile(*root, "f", 0644);
  ASSERT_EQ(Errno(root->SetXattr(f, "trusted.t", "root's")), "OK");
  ASSERT_EQ(Errno(alice->SetXattr(f, "user.u", "alice's")), "OK");
  EXPECT_EQ(Errno(alice->SetXattr(f, "trusted.x", "y")), "EPERM");
  EXPECT_EQ(Errno(alice->GetXattr(f, "trusted.t")), "EPERM");
  EXPECT_EQ(Errno(alice->SetXattr(f, "security.x", "y")), "EPERM");
  EXPECT_EQ(Names(*alice, f), (std::vector<std::string>{"user.u"}));
  EXPECT_EQ(Names(*root, f), (std::vector<std::string>{"trusted.t", "user.u"}));
}

TEST_P(XattrTest, UserNamesFollowTheFilesPermissionBits) {
  if (in_process()) GTEST_SKIP() << "an in-process caller is always this process";
  std::unique_ptr<FsClient> root = ConnectAs(0, 0);
  std::unique_ptr<FsClient> alice = ConnectAs(kAlice, kAlice);
  std::unique_ptr<FsClient> bob = ConnectAs(kBob, kBob);
  const uint64_t readable = AlicesFile(*root, "readable", 0644);
  const uint64_t secret = AlicesFile(*root, "secret", 0600);
  ASSERT_EQ(Errno(alice->SetXattr(readable, "user.a", "1")), "OK");
  ASSERT_EQ(Errno(alice->SetXattr(secret, "user.a", "1")), "OK");
  EXPECT_EQ(Ok(bob->GetXattr(readable, "user.a")).value(), "1");
  EXPECT_EQ(Errno(bob->SetXattr(readable, "user.b", "2")), "EACCES");
  EXPECT_EQ(Errno(bob->RemoveXattr(readable, "user.a")), "EACCES");
  EXPECT_EQ(Errno(bob->GetXattr(secret, "user.a")), "EACCES");
}

INSTANTIATE_TEST_SUITE_P(Transports, XattrTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
