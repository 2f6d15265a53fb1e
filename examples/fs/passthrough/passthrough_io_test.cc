// PassthroughFs's handles and data on every transport, checked through the client and on
// the host: Create, Open, Read, Write, Flush, Release, Fsync, OpenDir, ReadDir, ReleaseDir.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/fs/passthrough/passthrough_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::span<const std::byte> Bytes(const std::string& text) { return std::as_bytes(std::span(text)); }

// --- Create and Open ---

TEST_P(PassthroughTest, CreateMakesAHostFileWithTheModeAsked) {
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0640, O_WRONLY | O_EXCL));
  EXPECT_NE(created.fh, 0u);
  EXPECT_EQ(HostStat("f").st_mode, S_IFREG | 0640);
  EXPECT_EQ(created.entry.attr().mode(), S_IFREG | 0640);
  EXPECT_TRUE(fs().Release(created.entry.ino(), created.fh).ok());
}

TEST_P(PassthroughTest, CreateOfAnExistingNameOpensIt) {
  HostWrite(HostPath("f"), "old contents");
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0600, O_RDWR));
  EXPECT_EQ(created.entry.attr().size(), 12u);
  EXPECT_EQ(Errno(fs().Create(kRootIno, "f", 0600, O_RDWR | O_EXCL)), "EEXIST");
  FsClient::Created truncated = Ok(fs().Create(kRootIno, "f", 0600, O_RDWR | O_TRUNC));
  EXPECT_EQ(HostStat("f").st_size, 0);
  EXPECT_TRUE(fs().Release(created.entry.ino(), created.fh).ok());
  EXPECT_TRUE(fs().Release(truncated.entry.ino(), truncated.fh).ok());
}

TEST_P(PassthroughTest, CreateOfWhatIsNotARegularFileOpensNothing) {
  MakeDir(kRootIno, "d");
  ASSERT_EQ(mkfifo(HostPath("fifo").c_str(), 0666), 0);
  ASSERT_EQ(symlink("f", HostPath("l").c_str()), 0);
  EXPECT_EQ(Errno(fs().Create(kRootIno, "d", 0644, O_RDWR)), "EISDIR");
  EXPECT_EQ(Errno(fs().Create(kRootIno, ".", 0644, O_RDWR)), "EISDIR");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "..", 0644, O_RDWR | O_EXCL)), "EEXIST");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "fifo", 0644, O_WRONLY)), "ENXIO");  // not blocked
  EXPECT_EQ(Errno(fs().Create(kRootIno, "l", 0644, O_WRONLY)), "ELOOP");
  EXPECT_NE(access(HostPath("f").c_str(), F_OK), 0);  // the symlink's target: not made
  EXPECT_EQ(passthrough().handle_count(), 0u);
}

TEST_P(PassthroughTest, OpenRefusesWhatIsNotARegularFile) {
  Entry dir = MakeDir(kRootIno, "d");
  Entry fifo = Ok(fs().Mknod(kRootIno, "fifo", S_IFIFO | 0666));
  Entry link = Ok(fs().Symlink(kRootIno, "l", "d"));
  EXPECT_EQ(Errno(fs().Open(dir.ino(), O_RDONLY)), "EISDIR");
  EXPECT_EQ(Errno(fs().Open(fifo.ino(), O_RDONLY)), "ENXIO");
  EXPECT_EQ(Errno(fs().Open(link.ino(), O_RDONLY)), "ELOOP");
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Open(file.ino(), O_ACCMODE)), "EINVAL");
}

TEST_P(PassthroughTest, OpenTruncTruncatesTheHostFile) {
  Entry file = MakeFile(kRootIno, "f", "0123456789");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY | O_TRUNC));
  EXPECT_EQ(HostStat("f").st_size, 0);
  EXPECT_TRUE(fs().Release(file.ino(), fh).ok());
}

// --- Read and Write ---

TEST_P(PassthroughTest, DataLargerThanOneCallRoundTrips) {
  const std::string data = Pattern(3 * kMaxIoSize + 1234, 7);
  FsClient::Created created = Ok(fs().Create(kRootIno, "big", 0644, O_RDWR | O_EXCL));
  ASSERT_TRUE(fs().WriteFully(created.entry.ino(), created.fh, 0, Bytes(data)).ok());
  ASSERT_TRUE(fs().Release(created.entry.ino(), created.fh).ok());
  EXPECT_TRUE(HostRead(HostPath("big")) == data);
  EXPECT_TRUE(Contents(created.entry.ino()) == data);
}

TEST_P(PassthroughTest, ReadsAFileWrittenOnTheHost) {
  const std::string data = Pattern(200 * 1024, 3);
  HostWrite(HostPath("host"), data);
  Entry found = Ok(fs().Lookup(kRootIno, "host"));
  EXPECT_TRUE(Contents(found.ino()) == data);
}

TEST_P(PassthroughTest, ReadIsShortAtTheEndAndEmptyPastIt) {
  Entry file = MakeFile(kRootIno, "f", "hello");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  rpc::Attachment tail = Ok(fs().Read(file.ino(), fh, 3, 100));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(tail.data().data()), tail.size()), "lo");
  EXPECT_TRUE(Ok(fs().Read(file.ino(), fh, 5, 100)).empty());
  EXPECT_TRUE(Ok(fs().Read(file.ino(), fh, int64_t{1} << 62, 100)).empty());
  EXPECT_EQ(Errno(fs().Read(file.ino(), fh, -1, 100)), "EINVAL");
  EXPECT_TRUE(fs().Release(file.ino(), fh).ok());
}

TEST_P(PassthroughTest, WriteAtAnOffsetLeavesAHole) {
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0644, O_WRONLY | O_EXCL));
  ASSERT_TRUE(fs().WriteFully(created.entry.ino(), created.fh, 10, Bytes("xy")).ok());
  EXPECT_EQ(HostRead(HostPath("f")), std::string(10, '\0') + "xy");
  EXPECT_EQ(Errno(fs().WriteFully(created.entry.ino(), created.fh, -5, Bytes("z"))), "EINVAL");
  EXPECT_TRUE(fs().Release(created.entry.ino(), created.fh).ok());
}

TEST_P(PassthroughTest, AppendWritesAtTheEnd) {
  Entry file = MakeFile(kRootIno, "f", "start");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY | O_APPEND));
  ASSERT_TRUE(fs().WriteFully(file.ino(), fh, 0, Bytes("+end")).ok());
  EXPECT_EQ(HostRead(HostPath("f")), "start+end");
  EXPECT_TRUE(fs().Release(file.ino(), fh).ok());
}

TEST_P(PassthroughTest, HandlesAreCheckedForKindInodeAndAccess) {
  Entry file = MakeFile(kRootIno, "f", "data");
  Entry other = MakeFile(kRootIno, "g", "data");
  uint64_t reader = Ok(fs().Open(file.ino(), O_RDONLY));
  uint64_t writer = Ok(fs().Open(file.ino(), O_WRONLY));
  EXPECT_EQ(Errno(fs().Read(file.ino(), writer, 0, 4)), "EBADF");
  EXPECT_EQ(Errno(fs().WriteFully(file.ino(), reader, 0, Bytes("x"))), "EBADF");
  EXPECT_EQ(Errno(fs().Read(other.ino(), reader, 0, 4)), "EBADF");
  EXPECT_EQ(Errno(fs().Read(file.ino(), 9999, 0, 4)), "EBADF");
  EXPECT_EQ(Errno(fs().Flush(file.ino(), 9999)), "EBADF");
  EXPECT_EQ(Errno(fs().Fsync(file.ino(), 9999)), "EBADF");
  EXPECT_EQ(Errno(fs().ReadDir(file.ino(), reader, 0)), "EBADF");
  EXPECT_EQ(Errno(fs().ReleaseDir(file.ino(), reader)), "EBADF");
  EXPECT_TRUE(fs().Flush(file.ino(), writer).ok());
  EXPECT_TRUE(fs().Fsync(file.ino(), writer, /*datasync=*/true).ok());
  EXPECT_TRUE(fs().Release(file.ino(), reader).ok());
  EXPECT_TRUE(fs().Release(file.ino(), writer).ok());
  EXPECT_EQ(Errno(fs().Release(file.ino(), writer)), "EBADF");
  EXPECT_EQ(passthrough().handle_count(), 0u);
}

TEST_P(PassthroughTest, AHandleOutlivesItsNameAndItsLookups) {
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0644, O_RDWR | O_EXCL));
  const uint64_t ino = created.entry.ino();
  ASSERT_TRUE(fs().Unlink(kRootIno, "f").ok());
  ASSERT_TRUE(fs().Forget(ino, 1).ok());
  ASSERT_TRUE(fs().WriteFully(ino, created.fh, 0, Bytes("still here")).ok());
  rpc::Attachment back = Ok(fs().Read(ino, created.fh, 0, 100));
  EXPECT_EQ(back.size(), 10u);
  EXPECT_TRUE(fs().Release(ino, created.fh).ok());
}

TEST_P(PassthroughTest, SetAttrSizeThroughAHandleNeedsAWritableOne) {
  Entry file = MakeFile(kRootIno, "f", "0123456789");
  uint64_t reader = Ok(fs().Open(file.ino(), O_RDONLY));
  uint64_t writer = Ok(fs().Open(file.ino(), O_WRONLY));
  SetAttrRequest request;
  request.set_ino(file.ino());
  request.set_valid(SET_ATTR_SIZE);
  request.set_size(3);
  request.set_fh(reader);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EBADF");
  request.set_fh(writer);
  EXPECT_EQ(Ok(fs().SetAttr(request)).size(), 3u);
  EXPECT_EQ(HostRead(HostPath("f")), "012");
  EXPECT_TRUE(fs().Release(file.ino(), reader).ok());
  EXPECT_TRUE(fs().Release(file.ino(), writer).ok());
}

// --- Directories ---

TEST_P(PassthroughTest, ReadDirListsTheHostDirectory) {
  MakeDir(kRootIno, "made");
  HostWrite(HostPath("host"), "");
  EXPECT_THAT(Names(kRootIno), UnorderedElementsAre("made", "host"));
}

TEST_P(PassthroughTest, ReadDirGivesTypesAndKnownNumbers) {
  Entry dir = MakeDir(kRootIno, "d");
  Ok(fs().Symlink(kRootIno, "l", "x"));
  uint64_t fh = Ok(fs().OpenDir(kRootIno));
  std::vector<DirEntry> entries = Ok(fs().ReadDir(kRootIno, fh, 0));
  for (const DirEntry& entry : entries) {
    if (entry.name == "." || entry.name == "..") {
      EXPECT_EQ(entry.ino, kRootIno);
    } else if (entry.name == "d") {
      EXPECT_EQ(entry.ino, dir.ino());
      EXPECT_EQ(entry.type, static_cast<uint32_t>(DT_DIR));
    } else {
      EXPECT_EQ(entry.name, "l");
      EXPECT_EQ(entry.type, static_cast<uint32_t>(DT_LNK));
    }
  }
  EXPECT_EQ(entries.size(), 4u);
  EXPECT_TRUE(fs().ReleaseDir(kRootIno, fh).ok());
}

TEST_P(PassthroughTest, ReadDirGoesOnAcrossSeveralCalls) {
  std::set<std::string> made;
  for (int i = 0; i < 300; ++i) {
    const std::string name = absl::StrCat("file-with-a-longish-name-", i);
    HostWrite(HostPath(name), "");
    made.insert(name);
  }
  // 1 KiB pages: about 20 entries each.
  std::vector<std::string> names = Names(kRootIno, 1024);
  EXPECT_EQ(names.size(), made.size());
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), made);
}

TEST_P(PassthroughTest, ReadDirKeepsItsPlaceWhileEntriesGo) {
  for (int i = 0; i < 100; ++i) HostWrite(HostPath(absl::StrCat("f", i)), "");
  uint64_t fh = Ok(fs().OpenDir(kRootIno));
  std::vector<DirEntry> first = Ok(fs().ReadDir(kRootIno, fh, 0, 512));
  ASSERT_FALSE(first.empty());
  std::set<std::string> seen;
  for (const DirEntry& entry : first) seen.insert(entry.name);
  // Remove entries already listed; the rest is listed once each.
  for (const DirEntry& entry : first) {
    if (entry.name[0] == 'f') {
      ASSERT_EQ(unlink(HostPath(entry.name).c_str()), 0);
    }
  }
  uint64_t offset = first.back().next;
  while (true) {
    std::vector<DirEntry> page = Ok(fs().ReadDir(kRootIno, fh, offset, 512));
    if (page.empty()) break;
    for (const DirEntry& entry : page) EXPECT_TRUE(seen.insert(entry.name).second) << entry.name;
    offset = page.back().next;
  }
  EXPECT_EQ(seen.size(), 102u);  // the 100 files, "." and ".."
  EXPECT_TRUE(fs().ReleaseDir(kRootIno, fh).ok());
}

TEST_P(PassthroughTest, ReadDirWithoutRoomForOneEntryIsEinval) {
  uint64_t fh = Ok(fs().OpenDir(kRootIno));
  EXPECT_EQ(Errno(fs().ReadDir(kRootIno, fh, 0, 8)), "EINVAL");
  EXPECT_EQ(Errno(fs().ReadDir(kRootIno, fh, 0, 0)), "EINVAL");
  EXPECT_TRUE(fs().ReleaseDir(kRootIno, fh).ok());
}

TEST_P(PassthroughTest, OpenDirOfAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().OpenDir(file.ino())), "ENOTDIR");
  EXPECT_EQ(Errno(fs().OpenDir(999)), "ENOENT");
}

TEST_P(PassthroughTest, ReadDirOfAnEmptyDirectoryHasOnlyTheDots) {
  Entry dir = MakeDir(kRootIno, "d");
  EXPECT_THAT(Names(dir.ino()), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Transports, PassthroughTest, ::testing::ValuesIn(kAllTransports),
                         TransportName);

}  // namespace
}  // namespace syslink::examples::fs
