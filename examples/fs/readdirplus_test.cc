// ReadDirPlus: directory entries with their Entries, each a lookup the caller must Forget,
// through FsClient on every transport. Built against memfs (readdirplus_test) and the
// passthrough (passthrough_readdirplus_test, READDIRPLUS_TEST_PASSTHROUGH).

#include <fcntl.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

#ifdef READDIRPLUS_TEST_PASSTHROUGH
#include "examples/fs/passthrough/passthrough_testing.h"
#else
#include "examples/fs/memfs_testing.h"
#endif

namespace syslink::examples::fs {
namespace {

#ifdef READDIRPLUS_TEST_PASSTHROUGH
using Base = PassthroughTest;
#else
using Base = MemFsTest;
#endif

class ReadDirPlusTest : public Base {
 protected:
  // Forgets the lookup of every entry that came with one.
  void ForgetAll(FsClient& client, const ReadDirPlusResponse& listed) {
    for (const DirEntryPlus& entry : listed.entries()) {
      if (entry.has_entry()) {
        EXPECT_TRUE(client.Forget(entry.entry().ino(), 1).ok());
      }
    }
  }
};

TEST_P(ReadDirPlusTest, EntriesComeWithTheirAttributesButTheDots) {
  const uint64_t dir = MakeDir(kRootIno, "d").ino();
  MakeFile(dir, "a", "12345");
  MakeDir(dir, "c");
  const uint64_t fh = Ok(fs().OpenDir(dir));
  ReadDirPlusResponse listed = Ok(fs().ReadDirPlus(dir, fh, 0));
  std::set<std::string> names;
  for (const DirEntryPlus& entry : listed.entries()) {
    names.insert(entry.name());
    if (entry.name() == "." || entry.name() == "..") {
      EXPECT_FALSE(entry.has_entry()) << entry.name();
    } else {
      ASSERT_TRUE(entry.has_entry()) << entry.name();
      const Attr attr = Ok(fs().GetAttr(entry.entry().ino()));
      EXPECT_EQ(entry.entry().attr().ino(), attr.ino());
      EXPECT_EQ(entry.entry().attr().mode(), attr.mode());
      EXPECT_EQ(entry.entry().attr().size(), attr.size());
      EXPECT_EQ(entry.entry().attr().mtime_ns(), attr.mtime_ns());
    }
    if (entry.name() == "a") {
      EXPECT_EQ(entry.entry().attr().size(), 5u);
    }
    if (entry.name() == "c") {
      EXPECT_EQ(entry.type(), 4u);  // DT_DIR
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "a", "c"}));
  ForgetAll(fs(), listed);
  EXPECT_TRUE(fs().ReleaseDir(dir, fh).ok());
}

TEST_P(ReadDirPlusTest, EachEntryHoldsALookupUntilForgotten) {
  const uint64_t dir = MakeDir(kRootIno, "d").ino();
  MakeFile(dir, "a", "x");
  const uint64_t fh = Ok(fs().OpenDir(dir));
  ReadDirPlusResponse listed = Ok(fs().ReadDirPlus(dir, fh, 0));
  uint64_t a = 0;
  for (const DirEntryPlus& entry : listed.entries()) {
    if (entry.name() == "a") a = entry.entry().ino();
  }
  ASSERT_NE(a, 0u);
  ASSERT_TRUE(fs().Unlink(dir, "a").ok());
  ASSERT_TRUE(fs().Forget(a, 1).ok());      // MakeFile's Create
  EXPECT_EQ(Errno(fs().GetAttr(a)), "OK");  // the listing's lookup keeps it
  ASSERT_TRUE(fs().Forget(a, 1).ok());
  EXPECT_EQ(Errno(fs().GetAttr(a)), "ENOENT");
  EXPECT_TRUE(fs().ReleaseDir(dir, fh).ok());
}

TEST_P(ReadDirPlusTest, SmallPagesListEveryNameOnce) {
  const uint64_t dir = MakeDir(kRootIno, "d").ino();
  std::set<std::string> want = {".", ".."};
  for (int i = 0; i < 40; ++i) {
    const std::string name = absl::StrCat("file-", i);
    MakeFile(dir, name);
    want.insert(name);
  }
  const uint64_t fh = Ok(fs().OpenDir(dir));
  std::multiset<std::string> seen;
  uint64_t offset = 0;
  for (int pages = 0; pages < 100; ++pages) {
    ReadDirPlusResponse page = Ok(fs().ReadDirPlus(dir, fh, offset, 3 * DirEntryPlusSize(8)));
    if (page.entries_size() == 0) break;
    EXPECT_LE(page.entries_size(), 3);
    for (const DirEntryPlus& entry : page.entries()) seen.insert(entry.name());
    offset = page.entries(page.entries_size() - 1).next();
    ForgetAll(fs(), page);
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
  EXPECT_EQ(seen.size(), want.size());
  EXPECT_TRUE(fs().ReleaseDir(dir, fh).ok());
}

// A directory removed while open, its parent removed and forgotten too: its listing is
// ENOENT, as getdents(2) answers, and the server goes on.
TEST_P(ReadDirPlusTest, ADirectoryRemovedWhileOpenListsNothing) {
  const uint64_t a = MakeDir(kRootIno, "a").ino();
  const uint64_t b = MakeDir(a, "b").ino();
  const uint64_t fh = Ok(fs().OpenDir(b));
  ASSERT_TRUE(fs().Rmdir(a, "b").ok());
  ASSERT_TRUE(fs().Rmdir(kRootIno, "a").ok());
  ASSERT_TRUE(fs().Forget(a, 1).ok());  // MakeDir's lookup: "a" is gone for good
  EXPECT_EQ(Errno(fs().ReadDirPlus(b, fh, 0)), "ENOENT");
  EXPECT_EQ(Errno(fs().ReadDirPlus(b, fh, 2)), "ENOENT");
  EXPECT_EQ(Errno(fs().ReadDir(b, fh, 0)), "ENOENT");
  EXPECT_TRUE(fs().ReleaseDir(b, fh).ok());
  EXPECT_EQ(Errno(fs().GetAttr(kRootIno)), "OK");
}

TEST_P(ReadDirPlusTest, ASizeBelowOneEntryIsEinval) {
  const uint64_t fh = Ok(fs().OpenDir(kRootIno));
  EXPECT_EQ(Errno(fs().ReadDirPlus(kRootIno, fh, 0, DirEntryPlusSize(1) - 1)), "EINVAL");
  EXPECT_EQ(Errno(fs().ReadDirPlus(kRootIno, fh + 1000, 0)), "EBADF");
}

TEST_P(ReadDirPlusTest, WithoutSearchPermissionNamesComeWithoutEntries) {
  if (in_process()) GTEST_SKIP() << "an in-process caller is always this process";
  std::unique_ptr<FsClient> root = ConnectAs(0, 0);
  std::unique_ptr<FsClient> bob = ConnectAs(kBob, kBob);
  const uint64_t dir = Ok(root->Mkdir(kRootIno, "readable", 0744)).ino();  // r, no x
  FsClient::Created file = Ok(root->Create(dir, "f", 0644, O_WRONLY | O_EXCL));
  ASSERT_TRUE(root->Release(file.entry.ino(), file.fh).ok());
  const uint64_t fh = Ok(bob->OpenDir(dir));
  ReadDirPlusResponse listed = Ok(bob->ReadDirPlus(dir, fh, 0));
  bool found = false;
  for (const DirEntryPlus& entry : listed.entries()) {
    EXPECT_FALSE(entry.has_entry()) << entry.name();
    found = found || entry.name() == "f";
  }
  EXPECT_TRUE(found);
}

INSTANTIATE_TEST_SUITE_P(Transports, ReadDirPlusTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
