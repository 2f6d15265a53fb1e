#include "examples/fs/memfs_testing.h"

#include <fcntl.h>
#include <unistd.h>

#include "rpc/in_process_channel.h"
#include "rpc/link_channel.h"
#include "syslink/link.h"

namespace syslink::examples::fs {

std::string TransportName(const ::testing::TestParamInfo<Transport>& info) {
  switch (info.param) {
    case Transport::kInProcess:
      return "InProcess";
    case Transport::kLink:
      return "Link";
    case Transport::kLinkWorkers:
      return "LinkWorkers";
  }
  return "Unknown";
}

void PrintTo(Transport transport, std::ostream* out) {
  *out << TransportName(::testing::TestParamInfo<Transport>(transport, 0));
}

MemFsTest::MemFsTest() {
  MemTreeOptions options;
  options.root_uid = getuid();
  options.root_gid = getgid();
  memfs_ = std::make_unique<MemFs>(options);
}

void MemFsTest::SetUp() {
  if (!in_process()) {
    server_ = std::make_unique<rpc::Server>(
        rpc::ServerOptions{.workers = GetParam() == Transport::kLinkWorkers ? 2 : 0});
  }
  client_ = Connect();
  ASSERT_NE(client_, nullptr);
}

void MemFsTest::TearDown() {
  client_.reset();
  if (server_ != nullptr) server_->Shutdown();
}

std::unique_ptr<FsClient> MemFsTest::ConnectAs(uid_t uid, gid_t gid) {
  return ConnectAs(uid, gid, {});
}

std::unique_ptr<FsClient> MemFsTest::ConnectAs(uid_t uid, gid_t gid, std::vector<gid_t> groups) {
  return ConnectAs(
      {getpid(), uid, gid, std::make_shared<const std::vector<gid_t>>(std::move(groups))});
}

std::unique_ptr<FsClient> MemFsTest::ConnectAs(rpc::PeerIdentity peer) {
  if (in_process()) {
    ADD_FAILURE() << "ConnectAs needs a link";  // tests check in_process() first
    return nullptr;
  }
  absl::StatusOr<LinkPair> pair = Link::CreatePair();
  EXPECT_TRUE(pair.ok()) << pair.status();
  if (!pair.ok()) return nullptr;
  server_->ServeLink(service(), std::move(pair->second), std::move(peer));
  return std::make_unique<FsClient>(std::make_shared<rpc::LinkChannel>(std::move(pair->first)));
}

std::unique_ptr<FsClient> MemFsTest::Connect() {
  if (in_process()) {
    return std::make_unique<FsClient>(std::make_shared<rpc::InProcessChannel>(service()));
  }
  return ConnectAs(getuid(), getgid());
}

Entry MemFsTest::MakeDir(uint64_t parent, const std::string& name, uint32_t mode) {
  return Ok(fs().Mkdir(parent, name, mode));
}

Entry MemFsTest::MakeFile(uint64_t parent, const std::string& name, const std::string& contents,
                          uint32_t mode) {
  absl::StatusOr<FsClient::Created> created = fs().Create(parent, name, mode, O_WRONLY | O_EXCL);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return Entry();
  uint64_t ino = created->entry.ino();
  EXPECT_TRUE(fs().WriteFully(ino, created->fh, 0, std::as_bytes(std::span(contents))).ok());
  EXPECT_TRUE(fs().Release(ino, created->fh).ok());
  Entry entry = created->entry;
  *entry.mutable_attr() = Ok(fs().GetAttr(ino));
  return entry;
}

std::string MemFsTest::Contents(uint64_t ino) {
  absl::StatusOr<uint64_t> fh = fs().Open(ino, O_RDONLY);
  EXPECT_TRUE(fh.ok()) << fh.status();
  if (!fh.ok()) return "";
  absl::StatusOr<Attr> attr = fs().GetAttr(ino);
  std::string contents(attr.ok() ? attr->size() : 0, '\0');
  size_t got = Ok(fs().ReadFully(ino, *fh, 0, std::as_writable_bytes(std::span(contents))));
  contents.resize(got);
  EXPECT_TRUE(fs().Release(ino, *fh).ok());
  return contents;
}

std::vector<std::string> MemFsTest::Names(uint64_t ino, uint32_t size) {
  std::vector<std::string> names;
  absl::StatusOr<uint64_t> fh = fs().OpenDir(ino);
  EXPECT_TRUE(fh.ok()) << fh.status();
  if (!fh.ok()) return names;
  uint64_t offset = 0;
  while (true) {
    absl::StatusOr<std::vector<DirEntry>> page = fs().ReadDir(ino, *fh, offset, size);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->empty()) break;
    offset = page->back().next;
    for (const DirEntry& entry : *page) {
      if (entry.name != "." && entry.name != "..") names.push_back(entry.name);
    }
  }
  EXPECT_TRUE(fs().ReleaseDir(ino, *fh).ok());
  return names;
}

std::string Errno(const absl::Status& status) {
  return status.ok() ? "OK" : ErrnoName(ErrnoOf(status));
}

std::string Pattern(size_t size, int seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + seed) % 251);
  return bytes;
}

}  // namespace syslink::examples::fs
