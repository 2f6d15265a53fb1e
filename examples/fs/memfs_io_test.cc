// The handle and data rpcs of MemFs on every transport: Create, Open, Read, Write, Flush,
// Release, Fsync, OpenDir, ReadDir, ReleaseDir. Data moves in attachments of up to 128 KiB.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/memfs_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syslink::examples::fs {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

std::string AsString(const rpc::Attachment& attachment) {
  return std::string(reinterpret_cast<const char*>(attachment.data().data()), attachment.size());
}

// --- Create and Open ---

TEST_P(MemFsTest, CreateMakesAndOpensAFile) {
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0640, O_RDWR));
  EXPECT_NE(created.fh, 0u);
  EXPECT_EQ(created.entry.attr().mode(), S_IFREG | 0640u);
  EXPECT_EQ(created.entry.attr().nlink(), 1u);
  EXPECT_EQ(Ok(fs().Lookup(kRootIno, "f")).ino(), created.entry.ino());
  EXPECT_EQ(Errno(fs().Release(created.entry.ino(), created.fh)), "OK");
}

TEST_P(MemFsTest, CreateExclusiveOfAnExistingNameIsEexist) {
  MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "f", 0644, O_RDWR | O_EXCL)), "EEXIST");
}

TEST_P(MemFsTest, CreateWithoutExclusiveOpensTheExistingFile) {
  Entry file = MakeFile(kRootIno, "f", "kept");
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0600, O_RDWR));
  EXPECT_EQ(created.entry.ino(), file.ino());
  EXPECT_EQ(created.entry.attr().mode(), S_IFREG | 0644u);  // the mode is not changed
  EXPECT_EQ(Contents(file.ino()), "kept");
}

TEST_P(MemFsTest, CreateWithTruncateEmptiesTheExistingFile) {
  Entry file = MakeFile(kRootIno, "f", "gone");
  FsClient::Created created = Ok(fs().Create(kRootIno, "f", 0644, O_WRONLY | O_TRUNC));
  EXPECT_EQ(created.entry.attr().size(), 0u);
  EXPECT_EQ(Contents(file.ino()), "");
}

TEST_P(MemFsTest, CreateOverADirectoryIsEisdir) {
  MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Create(kRootIno, "d", 0644, O_RDWR)), "EISDIR");
}

TEST_P(MemFsTest, CreateInAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Create(file.ino(), "g", 0644, O_RDWR)), "ENOTDIR");
}

TEST_P(MemFsTest, CreateInAnUnknownDirectoryIsEnoent) {
  EXPECT_EQ(Errno(fs().Create(123456, "g", 0644, O_RDWR)), "ENOENT");
}

TEST_P(MemFsTest, OpenOfADirectoryIsEisdir) {
  Entry d = MakeDir(kRootIno, "d");
  EXPECT_EQ(Errno(fs().Open(d.ino(), O_RDONLY)), "EISDIR");
}

TEST_P(MemFsTest, OpenOfASymlinkIsEloop) {
  Entry link = Ok(fs().Symlink(kRootIno, "l", "f"));
  EXPECT_EQ(Errno(fs().Open(link.ino(), O_RDONLY)), "ELOOP");
}

TEST_P(MemFsTest, OpenOfAFifoIsEnxio) {
  Entry fifo = Ok(fs().Mknod(kRootIno, "p", S_IFIFO | 0644));
  EXPECT_EQ(Errno(fs().Open(fifo.ino(), O_RDONLY)), "ENXIO");
}

TEST_P(MemFsTest, OpenOfAnUnknownInodeIsEnoent) {
  EXPECT_EQ(Errno(fs().Open(55555, O_RDONLY)), "ENOENT");
}

TEST_P(MemFsTest, OpenWithABadAccessModeIsEinval) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().Open(file.ino(), O_ACCMODE)), "EINVAL");
}

TEST_P(MemFsTest, OpenWithTruncateEmptiesTheFile) {
  Entry file = MakeFile(kRootIno, "f", "data");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY | O_TRUNC));
  EXPECT_EQ(Ok(fs().GetAttr(file.ino())).size(), 0u);
  EXPECT_EQ(Errno(fs().Release(file.ino(), fh)), "OK");
}

TEST_P(MemFsTest, UnlinkedOpenFileStaysReadableUntilReleased) {
  Entry file = MakeFile(kRootIno, "f", "still here");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  ASSERT_EQ(Errno(fs().Unlink(kRootIno, "f")), "OK");
  ASSERT_TRUE(fs().Forget(file.ino(), 1).ok());
  EXPECT_EQ(AsString(Ok(fs().Read(file.ino(), fh, 0, 100))), "still here");
  const size_t inodes = tree().inode_count();
  ASSERT_EQ(Errno(fs().Release(file.ino(), fh)), "OK");
  EXPECT_EQ(tree().inode_count(), inodes - 1);
}

// --- Read and Write ---

TEST_P(MemFsTest, WriteAndReadOneFull128KiBAttachment) {
  FsClient::Created file = Ok(fs().Create(kRootIno, "f", 0644, O_RDWR));
  const uint64_t ino = file.entry.ino();
  rpc::Attachment out = Ok(fs().channel().AllocateAttachment(kMaxIoSize));
  const std::string bytes = Pattern(kMaxIoSize, 7);
  std::memcpy(out.data().data(), bytes.data(), bytes.size());
  EXPECT_EQ(Ok(fs().Write(ino, file.fh, 0, out)), kMaxIoSize);
  rpc::Attachment in = Ok(fs().Read(ino, file.fh, 0, kMaxIoSize));
  EXPECT_EQ(in.size(), kMaxIoSize);
  EXPECT_TRUE(AsString(in) == bytes);
  if (!in_process()) {
    EXPECT_TRUE(out.is_dma()) << "the lent buffer comes back with the reply";
    EXPECT_EQ(out.size(), kMaxIoSize);
  }
}

TEST_P(MemFsTest, ReadAndWriteSpanningManyCalls) {
  FsClient::Created file = Ok(fs().Create(kRootIno, "f", 0644, O_RDWR));
  const uint64_t ino = file.entry.ino();
  const std::string bytes = Pattern(5 * kMaxIoSize + 12345, 3);
  ASSERT_EQ(Errno(fs().WriteFully(ino, file.fh, 0, std::as_bytes(std::span(bytes)))), "OK");
  EXPECT_EQ(Ok(fs().GetAttr(ino)).size(), bytes.size());
  std::string back(bytes.size() + 1000, 'x');
  EXPECT_EQ(Ok(fs().ReadFully(ino, file.fh, 0, std::as_writable_bytes(std::span(back)))),
            bytes.size());
  back.resize(bytes.size());
  EXPECT_TRUE(back == bytes);
}

TEST_P(MemFsTest, ReadAtAnUnalignedOffsetAcrossBlocks) {
  const std::string bytes = Pattern(300000, 9);
  Entry file = MakeFile(kRootIno, "f", bytes);
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  EXPECT_TRUE(AsString(Ok(fs().Read(file.ino(), fh, 65000, 70000))) == bytes.substr(65000, 70000));
}

TEST_P(MemFsTest, ReadIsShortAtTheEndAndEmptyPastIt) {
  Entry file = MakeFile(kRootIno, "f", "0123456789");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  EXPECT_EQ(AsString(Ok(fs().Read(file.ino(), fh, 6, 100))), "6789");
  EXPECT_EQ(Ok(fs().Read(file.ino(), fh, 10, 100)).size(), 0u);
  EXPECT_EQ(Ok(fs().Read(file.ino(), fh, 1 << 30, 100)).size(), 0u);
}

TEST_P(MemFsTest, ReadOfMoreThan128KiBIsShortened) {
  Entry file = MakeFile(kRootIno, "f", Pattern(3 * kMaxIoSize));
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  EXPECT_EQ(Ok(fs().Read(file.ino(), fh, 0, 1 << 20)).size(), kMaxIoSize);
}

TEST_P(MemFsTest, ReadOfZeroBytesIsEmpty) {
  Entry file = MakeFile(kRootIno, "f", "abc");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  EXPECT_EQ(Ok(fs().Read(file.ino(), fh, 0, 0)).size(), 0u);
}

TEST_P(MemFsTest, WritePastTheEndLeavesAHoleOfZeros) {
  FsClient::Created file = Ok(fs().Create(kRootIno, "f", 0644, O_RDWR));
  const std::string tail = "tail";
  ASSERT_EQ(
      Errno(fs().WriteFully(file.entry.ino(), file.fh, 200000, std::as_bytes(std::span(tail)))),
      "OK");
  EXPECT_EQ(Contents(file.entry.ino()), std::string(200000, '\0') + "tail");
  Attr attr = Ok(fs().GetAttr(file.entry.ino()));
  EXPECT_EQ(attr.blocks(), 128u);  // one 64 KiB block holds "tail"; the hole takes none
}

TEST_P(MemFsTest, WriteOverwritesInTheMiddle) {
  Entry file = MakeFile(kRootIno, "f", "aaaaaaaaaa");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY));
  const std::string bb = "bb";
  ASSERT_EQ(Errno(fs().WriteFully(file.ino(), fh, 4, std::as_bytes(std::span(bb)))), "OK");
  EXPECT_EQ(Contents(file.ino()), "aaaabbaaaa");
}

TEST_P(MemFsTest, WriteWithAppendGoesToTheEnd) {
  Entry file = MakeFile(kRootIno, "f", "head");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY | O_APPEND));
  const std::string more = "+more";
  ASSERT_EQ(Errno(fs().WriteFully(file.ino(), fh, 0, std::as_bytes(std::span(more)))), "OK");
  EXPECT_EQ(Contents(file.ino()), "head+more");
}

TEST_P(MemFsTest, WriteUpdatesMtime) {
  Entry file = MakeFile(kRootIno, "f");
  SetAttrRequest old_times;
  old_times.set_ino(file.ino());
  old_times.set_valid(SET_ATTR_MTIME);
  old_times.set_mtime_ns(1);
  ASSERT_TRUE(fs().SetAttr(old_times).ok());
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY));
  const std::string x = "x";
  ASSERT_EQ(Errno(fs().WriteFully(file.ino(), fh, 0, std::as_bytes(std::span(x)))), "OK");
  EXPECT_GT(Ok(fs().GetAttr(file.ino())).mtime_ns(), 1);
}

TEST_P(MemFsTest, ReadThroughAWriteOnlyHandleIsEbadf) {
  Entry file = MakeFile(kRootIno, "f", "x");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY));
  EXPECT_EQ(Errno(fs().Read(file.ino(), fh, 0, 1)), "EBADF");
}

TEST_P(MemFsTest, WriteThroughAReadOnlyHandleIsEbadf) {
  Entry file = MakeFile(kRootIno, "f", "x");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDONLY));
  const std::string y = "y";
  EXPECT_EQ(Errno(fs().WriteFully(file.ino(), fh, 0, std::as_bytes(std::span(y)))), "EBADF");
}

TEST_P(MemFsTest, HandleOfAnotherInodeOrReleasedIsEbadf) {
  Entry f = MakeFile(kRootIno, "f", "x");
  Entry g = MakeFile(kRootIno, "g", "y");
  uint64_t fh = Ok(fs().Open(f.ino(), O_RDWR));
  EXPECT_EQ(Errno(fs().Read(g.ino(), fh, 0, 1)), "EBADF");
  EXPECT_EQ(Errno(fs().Read(f.ino(), 987654, 0, 1)), "EBADF");
  ASSERT_EQ(Errno(fs().Release(f.ino(), fh)), "OK");
  EXPECT_EQ(Errno(fs().Read(f.ino(), fh, 0, 1)), "EBADF");
  EXPECT_EQ(Errno(fs().Release(f.ino(), fh)), "EBADF");
}

TEST_P(MemFsTest, NegativeOffsetIsEinval) {
  Entry file = MakeFile(kRootIno, "f", "x");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDWR));
  EXPECT_EQ(Errno(fs().Read(file.ino(), fh, -1, 1)), "EINVAL");
  const std::string y = "y";
  EXPECT_EQ(Errno(fs().WriteFully(file.ino(), fh, -5, std::as_bytes(std::span(y)))), "EINVAL");
}

TEST_P(MemFsTest, FlushAndFsyncCheckTheHandle) {
  Entry file = MakeFile(kRootIno, "f", "x");
  uint64_t fh = Ok(fs().Open(file.ino(), O_RDWR));
  EXPECT_EQ(Errno(fs().Flush(file.ino(), fh)), "OK");
  EXPECT_EQ(Errno(fs().Fsync(file.ino(), fh, /*datasync=*/true)), "OK");
  EXPECT_EQ(Errno(fs().Flush(file.ino(), fh + 1000)), "EBADF");
  EXPECT_EQ(Errno(fs().Fsync(file.ino(), fh + 1000)), "EBADF");
}

TEST_P(MemFsTest, FtruncateThroughAHandle) {
  Entry file = MakeFile(kRootIno, "f", "0123456789");
  uint64_t fh = Ok(fs().Open(file.ino(), O_WRONLY));
  SetAttrRequest request;
  request.set_ino(file.ino());
  request.set_valid(SET_ATTR_SIZE);
  request.set_size(3);
  request.set_fh(fh);
  EXPECT_EQ(Ok(fs().SetAttr(request)).size(), 3u);
  uint64_t read_only = Ok(fs().Open(file.ino(), O_RDONLY));
  request.set_fh(read_only);
  EXPECT_EQ(Errno(fs().SetAttr(request)), "EBADF");
}

TEST_P(MemFsTest, AnErrnoTravelsInTheResponseWithAnOkRpcStatus) {
  LookupRequest request;
  request.set_parent(kRootIno);
  request.set_name("nothing");
  EntryResponse response;
  ASSERT_TRUE(fs().stub().Lookup(request, &response, nullptr).ok());
  EXPECT_EQ(response.error(), ENOENT);
  EXPECT_FALSE(response.has_entry());
}

TEST_P(MemFsTest, AFailedReadCarriesNoAttachment) {
  ReadRequest request;
  request.set_ino(kRootIno);
  request.set_fh(424242);
  request.set_size(kMaxIoSize);
  ReadResponse response;
  rpc::ClientContext context;
  ASSERT_TRUE(fs().stub().Read(request, &response, &context).ok());
  EXPECT_EQ(response.error(), EBADF);
  EXPECT_TRUE(context.response_attachment().empty());
}

TEST_P(MemFsTest, ReadThroughTheStubAnswersInTheResponseAttachment) {
  Entry file = MakeFile(kRootIno, "f", "attached");
  ReadRequest request;
  request.set_ino(file.ino());
  request.set_fh(Ok(fs().Open(file.ino(), O_RDONLY)));
  request.set_size(kMaxIoSize);
  ReadResponse response;
  rpc::ClientContext context;
  ASSERT_TRUE(fs().stub().Read(request, &response, &context).ok());
  EXPECT_EQ(response.error(), 0);
  EXPECT_EQ(AsString(context.response_attachment()), "attached");
}

TEST_P(MemFsTest, WriteThroughTheStubTakesTheRequestAttachment) {
  FsClient::Created file = Ok(fs().Create(kRootIno, "f", 0644, O_RDWR));
  WriteRequest request;
  request.set_ino(file.entry.ino());
  request.set_fh(file.fh);
  request.set_offset(3);
  const std::string bytes = "written";
  rpc::ClientContext context;
  context.set_request_attachment(rpc::Attachment::FromBytes(std::as_bytes(std::span(bytes))));
  WriteResponse response;
  ASSERT_TRUE(fs().stub().Write(request, &response, &context).ok());
  EXPECT_EQ(response.error(), 0);
  EXPECT_EQ(response.size(), bytes.size());
  EXPECT_EQ(Contents(file.entry.ino()), std::string(3, '\0') + "written");
}

// --- Directories ---

TEST_P(MemFsTest, ReadDirStartsWithDotAndDotDot) {
  Entry d = MakeDir(kRootIno, "d");
  Entry f = MakeFile(d.ino(), "f");
  uint64_t fh = Ok(fs().OpenDir(d.ino()));
  std::vector<DirEntry> entries = Ok(fs().ReadDir(d.ino(), fh, 0));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, ".");
  EXPECT_EQ(entries[0].ino, d.ino());
  EXPECT_EQ(entries[0].type, DT_DIR);
  EXPECT_EQ(entries[1].name, "..");
  EXPECT_EQ(entries[1].ino, kRootIno);
  EXPECT_EQ(entries[2].name, "f");
  EXPECT_EQ(entries[2].ino, f.ino());
  EXPECT_EQ(entries[2].type, DT_REG);
  EXPECT_TRUE(Ok(fs().ReadDir(d.ino(), fh, entries.back().next)).empty());
  EXPECT_EQ(Errno(fs().ReleaseDir(d.ino(), fh)), "OK");
}

TEST_P(MemFsTest, ReadDirGivesEachEntrysType) {
  MakeDir(kRootIno, "d");
  MakeFile(kRootIno, "f");
  ASSERT_TRUE(fs().Symlink(kRootIno, "l", "f").ok());
  ASSERT_TRUE(fs().Mknod(kRootIno, "p", S_IFIFO | 0644).ok());
  uint64_t fh = Ok(fs().OpenDir(kRootIno));
  std::map<std::string, uint32_t> types;
  for (const DirEntry& entry : Ok(fs().ReadDir(kRootIno, fh, 0))) types[entry.name] = entry.type;
  EXPECT_EQ(types["d"], DT_DIR);
  EXPECT_EQ(types["f"], DT_REG);
  EXPECT_EQ(types["l"], DT_LNK);
  EXPECT_EQ(types["p"], DT_FIFO);
}

TEST_P(MemFsTest, ReadDirOfManyEntriesTakesSeveralCalls) {
  Entry d = MakeDir(kRootIno, "d");
  std::vector<std::string> made;
  for (int i = 0; i < 3000; ++i) {
    made.push_back(absl::StrCat("entry-with-a-long-name-to-fill-pages-quickly-", i));
    ASSERT_TRUE(fs().Mknod(d.ino(), made.back(), 0644).ok());
  }
  uint64_t fh = Ok(fs().OpenDir(d.ino()));
  std::vector<std::string> seen;
  uint64_t offset = 0;
  int calls = 0;
  while (true) {
    std::vector<DirEntry> page = Ok(fs().ReadDir(d.ino(), fh, offset));
    if (page.empty()) break;
    ++calls;
    offset = page.back().next;
    for (const DirEntry& entry : page) {
      if (entry.name != "." && entry.name != "..") seen.push_back(entry.name);
    }
  }
  EXPECT_GE(calls, 2);  // 3000 entries of 80 bytes: more than one 128 KiB attachment
  EXPECT_THAT(seen, UnorderedElementsAreArray(made));
  EXPECT_EQ(seen.size(), made.size());
}

TEST_P(MemFsTest, ReadDirInSmallPagesSeesEveryEntryOnce) {
  Entry d = MakeDir(kRootIno, "d");
  std::vector<std::string> made;
  for (int i = 0; i < 50; ++i) {
    made.push_back(absl::StrCat("n", i));
    ASSERT_TRUE(fs().Mkdir(d.ino(), made.back(), 0755).ok());
  }
  EXPECT_THAT(Names(d.ino(), /*size=*/64), UnorderedElementsAreArray(made));  // two a call
}

TEST_P(MemFsTest, ReadDirKeepsPositionsWhileTheDirectoryChanges) {
  Entry d = MakeDir(kRootIno, "d");
  for (int i = 0; i < 10; ++i) MakeFile(d.ino(), absl::StrCat("f", i));
  uint64_t fh = Ok(fs().OpenDir(d.ino()));
  std::vector<DirEntry> first = Ok(fs().ReadDir(d.ino(), fh, 0, 5 * 32));  // . .. f0 f1 f2
  ASSERT_EQ(first.size(), 5u);
  ASSERT_EQ(Errno(fs().Unlink(d.ino(), "f0")), "OK");  // already seen
  ASSERT_EQ(Errno(fs().Unlink(d.ino(), "f5")), "OK");  // not yet seen
  MakeFile(d.ino(), "late");
  std::vector<std::string> rest;
  for (uint64_t offset = first.back().next;;) {
    std::vector<DirEntry> page = Ok(fs().ReadDir(d.ino(), fh, offset, 64));
    if (page.empty()) break;
    offset = page.back().next;
    for (const DirEntry& entry : page) rest.push_back(entry.name);
  }
  EXPECT_THAT(rest, ElementsAre("f3", "f4", "f6", "f7", "f8", "f9", "late"));
}

TEST_P(MemFsTest, ReadDirWithNoRoomForOneEntryIsEinval) {
  uint64_t fh = Ok(fs().OpenDir(kRootIno));
  EXPECT_EQ(Errno(fs().ReadDir(kRootIno, fh, 0, 10)), "EINVAL");
  EXPECT_EQ(Errno(fs().ReadDir(kRootIno, fh, 0, 0)), "EINVAL");
}

TEST_P(MemFsTest, OpenDirOfAFileIsEnotdir) {
  Entry file = MakeFile(kRootIno, "f");
  EXPECT_EQ(Errno(fs().OpenDir(file.ino())), "ENOTDIR");
  EXPECT_EQ(Errno(fs().OpenDir(31337)), "ENOENT");
}

TEST_P(MemFsTest, DirectoryAndFileHandlesAreNotInterchangeable) {
  Entry file = MakeFile(kRootIno, "f", "x");
  uint64_t file_fh = Ok(fs().Open(file.ino(), O_RDONLY));
  uint64_t dir_fh = Ok(fs().OpenDir(kRootIno));
  EXPECT_EQ(Errno(fs().ReadDir(kRootIno, file_fh, 0)), "EBADF");
  EXPECT_EQ(Errno(fs().Read(kRootIno, dir_fh, 0, 1)), "EBADF");
  EXPECT_EQ(Errno(fs().Release(kRootIno, dir_fh)), "EBADF");
  EXPECT_EQ(Errno(fs().ReleaseDir(file.ino(), file_fh)), "EBADF");
  EXPECT_EQ(Errno(fs().ReleaseDir(kRootIno, dir_fh)), "OK");
  EXPECT_EQ(Errno(fs().ReleaseDir(kRootIno, dir_fh)), "EBADF");
}

TEST_P(MemFsTest, ReleasingEveryHandleLeavesNone) {
  Entry file = MakeFile(kRootIno, "f", "x");
  uint64_t a = Ok(fs().Open(file.ino(), O_RDONLY));
  uint64_t b = Ok(fs().OpenDir(kRootIno));
  EXPECT_EQ(tree().handle_count(), 2u);
  ASSERT_TRUE(fs().Release(file.ino(), a).ok());
  ASSERT_TRUE(fs().ReleaseDir(kRootIno, b).ok());
  EXPECT_EQ(tree().handle_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Transports, MemFsTest, ::testing::ValuesIn(kAllTransports), TransportName);

}  // namespace
}  // namespace syslink::examples::fs
