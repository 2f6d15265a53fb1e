// FsClient's path layer: paths resolved by successive Lookups, every lookup forgotten
// before returning. The inode layer is in fs_client.cc.

#include <errno.h>
#include <fcntl.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "examples/fs/fs_client.h"

namespace syslink::examples::fs {
namespace {

// The status of a failed path operation: "op path: <errno>" when the server answered with
// an errno, the RPC layer's status as it is otherwise (it keeps its payloads).
absl::Status ForPath(const absl::Status& status, absl::string_view op, absl::string_view path) {
  if (status.ok() || !status.GetPayload(kErrnoPayloadUrl).has_value()) return status;
  return ErrnoError(ErrnoOf(status), absl::StrCat(op, " ", path));
}

std::vector<absl::string_view> Components(absl::string_view path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

// Runs `release` when it goes out of scope, unless dismissed: closes handles on every path.
template <typename F>
class Closer {
 public:
  explicit Closer(F release) : release_(std::move(release)) {}
  ~Closer() {
    if (armed_) (void)release_();  // an error already being returned wins
  }
  // Releases now and returns the outcome.
  absl::Status Close() {
    armed_ = false;
    return release_();
  }

 private:
  F release_;
  bool armed_ = true;
};

}  // namespace

absl::StatusOr<LookupRef> FsClient::Resolve(absl::string_view path) {
  absl::StatusOr<Attr> root = GetAttr(kRootIno);
  if (!root.ok()) return ForPath(root.status(), "resolve", path);
  Entry root_entry;
  root_entry.set_ino(kRootIno);
  *root_entry.mutable_attr() = *std::move(root);
  LookupRef at(nullptr, std::move(root_entry));
  for (absl::string_view name : Components(path)) {
    absl::StatusOr<Entry> next = Lookup(at.ino(), name);
    if (!next.ok()) return ForPath(next.status(), "resolve", path);
    at = LookupRef(this, *std::move(next));  // forgets the directory it came from
  }
  return at;
}

absl::Status FsClient::ResolveParent(absl::string_view path, LookupRef* parent, std::string* name) {
  std::vector<absl::string_view> components = Components(path);
  if (components.empty()) return ErrnoError(EINVAL, absl::StrCat(path, ": names the root"));
  *name = std::string(components.back());
  absl::string_view dir = path.substr(0, components.back().data() - path.data());
  absl::StatusOr<LookupRef> resolved = Resolve(dir);
  if (!resolved.ok()) return resolved.status();
  *parent = *std::move(resolved);
  return absl::OkStatus();
}

absl::StatusOr<Attr> FsClient::Stat(absl::string_view path) {
  absl::StatusOr<LookupRef> ref = Resolve(path);
  if (!ref.ok()) return ForPath(ref.status(), "stat", path);
  return ref->attr();
}

absl::StatusOr<std::vector<DirEntry>> FsClient::List(absl::string_view path) {
  absl::StatusOr<LookupRef> dir = Resolve(path);
  if (!dir.ok()) return ForPath(dir.status(), "ls", path);
  absl::StatusOr<uint64_t> fh = OpenDir(dir->ino());
  if (!fh.ok()) return ForPath(fh.status(), "ls", path);
  Closer closer([&] { return ReleaseDir(dir->ino(), *fh); });
  std::vector<DirEntry> all;
  uint64_t offset = 0;
  while (true) {
    absl::StatusOr<std::vector<DirEntry>> page = ReadDir(dir->ino(), *fh, offset);
    if (!page.ok()) return ForPath(page.status(), "ls", path);
    if (page->empty()) break;
    offset = page->back().next;
    for (DirEntry& entry : *page) {
      if (entry.name != "." && entry.name != "..") all.push_back(std::move(entry));
    }
  }
  if (absl::Status s = closer.Close(); !s.ok()) return ForPath(s, "ls", path);
  return all;
}

absl::Status FsClient::MakeDirectory(absl::string_view path, uint32_t mode) {
  LookupRef parent;
  std::string name;
  if (absl::Status s = ResolveParent(path, &parent, &name); !s.ok()) {
    return ForPath(s, "mkdir", path);
  }
  absl::StatusOr<Entry> made = Mkdir(parent.ino(), name, mode);
  if (!made.ok()) return ForPath(made.status(), "mkdir", path);
  LookupRef forget(this, *std::move(made));
  return absl::OkStatus();
}

absl::Status FsClient::Remove(absl::string_view path) {
  LookupRef parent;
  std::string name;
  if (absl::Status s = ResolveParent(path, &parent, &name); !s.ok()) {
    return ForPath(s, "rm", path);
  }
  absl::Status s = Unlink(parent.ino(), name);
  if (ErrnoOf(s) == EISDIR) s = Rmdir(parent.ino(), name);
  return ForPath(s, "rm", path);
}

absl::Status FsClient::Move(absl::string_view from, absl::string_view to, uint32_t flags) {
  LookupRef from_parent, to_parent;
  std::string from_name, to_name;
  if (absl::Status s = ResolveParent(from, &from_parent, &from_name); !s.ok()) {
    return ForPath(s, "mv", from);
  }
  if (absl::Status s = ResolveParent(to, &to_parent, &to_name); !s.ok()) {
    return ForPath(s, "mv", to);
  }
  return ForPath(Rename(from_parent.ino(), from_name, to_parent.ino(), to_name, flags), "mv",
                 absl::StrCat(from, " to ", to));
}

absl::Status FsClient::ReadFile(absl::string_view path,
                                absl::FunctionRef<absl::Status(std::span<const std::byte>)> sink) {
  absl::StatusOr<LookupRef> file = Resolve(path);
  if (!file.ok()) return ForPath(file.status(), "read", path);
  absl::StatusOr<uint64_t> fh = Open(file->ino(), O_RDONLY);
  if (!fh.ok()) return ForPath(fh.status(), "read", path);
  Closer closer([&] { return Release(file->ino(), *fh); });
  int64_t offset = 0;
  while (true) {
    absl::StatusOr<rpc::Attachment> piece = Read(file->ino(), *fh, offset, kMaxIoSize);
    if (!piece.ok()) return ForPath(piece.status(), "read", path);
    if (piece->empty()) break;
    if (absl::Status s = sink(piece->data()); !s.ok()) return s;
    offset += piece->size();
  }
  return ForPath(closer.Close(), "read", path);
}

absl::StatusOr<std::string> FsClient::ReadFileToString(absl::string_view path) {
  std::string contents;
  absl::Status s = ReadFile(path, [&](std::span<const std::byte> piece) {
    contents.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return contents;
}

absl::Status FsClient::WriteFile(
    absl::string_view path, uint32_t mode,
    absl::FunctionRef<absl::StatusOr<size_t>(std::span<std::byte>)> source) {
  LookupRef parent;
  std::string name;
  if (absl::Status s = ResolveParent(path, &parent, &name); !s.ok()) {
    return ForPath(s, "write", path);
  }
  absl::StatusOr<Created> created = Create(parent.ino(), name, mode, O_WRONLY | O_TRUNC);
  if (!created.ok()) return ForPath(created.status(), "write", path);
  LookupRef file(this, std::move(created->entry));
  const uint64_t fh = created->fh;
  Closer closer([&] { return Release(file.ino(), fh); });
  rpc::Attachment buffer;
  int64_t offset = 0;
  while (true) {
    if (!buffer.is_dma() && buffer.size() == 0) {  // the first, or one that did not come back
      absl::StatusOr<rpc::Attachment> fresh = WriteBuffer();
      if (!fresh.ok()) return fresh.status();
      buffer = *std::move(fresh);
    }
    buffer.resize(kMaxIoSize);
    absl::StatusOr<size_t> filled = source(buffer.data());
    if (!filled.ok()) return filled.status();
    if (*filled == 0) break;
    buffer.resize(*filled);
    absl::StatusOr<uint32_t> written = Write(file.ino(), fh, offset, buffer);
    if (!written.ok()) return ForPath(written.status(), "write", path);
    if (*written != *filled) {
      return ErrnoError(EIO, absl::StrCat("write ", path, ": a short write"));
    }
    offset += *filled;
  }
  if (absl::Status s = Flush(file.ino(), fh); !s.ok()) return ForPath(s, "write", path);
  return ForPath(closer.Close(), "write", path);
}

absl::Status FsClient::WriteFileFromString(absl::string_view path, absl::string_view contents,
                                           uint32_t mode) {
  size_t done = 0;
  return WriteFile(path, mode, [&](std::span<std::byte> out) -> absl::StatusOr<size_t> {
    const size_t n = std::min(out.size(), contents.size() - done);
    std::memcpy(out.data(), contents.data() + done, n);
    done += n;
    return n;
  });
}

}  // namespace syslink::examples::fs
