#include "examples/fs/exercise/fs_client_ops.h"

#include <fcntl.h>

#include <cerrno>

namespace syslink::examples::fs {
namespace {

// "sub/b" → ("sub", "b"); "a" → ("", "a").
std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

template <typename Body>
int FsClientOps::WithHandle(const std::string& path, uint32_t flags, Body body) {
  absl::StatusOr<LookupRef> file = client_->Resolve(path);
  if (!file.ok()) return ErrnoOf(file.status());
  absl::StatusOr<uint64_t> fh = client_->Open(file->ino(), flags);
  if (!fh.ok()) return ErrnoOf(fh.status());
  int error = body(file->ino(), *fh);
  int released = ErrnoOf(client_->Release(file->ino(), *fh));
  return error != 0 ? error : released;
}

int FsClientOps::Create(const std::string& path) {
  auto [dir, name] = SplitParent(path);
  absl::StatusOr<LookupRef> parent = client_->Resolve(dir);
  if (!parent.ok()) return ErrnoOf(parent.status());
  absl::StatusOr<FsClient::Created> created =
      client_->Create(parent->ino(), name, 0644, O_WRONLY | O_CREAT | O_EXCL);
  if (!created.ok()) return ErrnoOf(created.status());
  LookupRef made(client_, created->entry);  // forgotten on return
  return ErrnoOf(client_->Release(created->entry.ino(), created->fh));
}

int FsClientOps::MakeDirectory(const std::string& path) {
  return ErrnoOf(client_->MakeDirectory(path, 0755));
}

int FsClientOps::Write(const std::string& path, int64_t offset, std::span<const std::byte> data) {
  return WithHandle(path, O_WRONLY, [&](uint64_t ino, uint64_t fh) {
    return ErrnoOf(client_->WriteFully(ino, fh, offset, data));
  });
}

int FsClientOps::Read(const std::string& path, int64_t offset, size_t size, std::string* out) {
  out->clear();
  return WithHandle(path, O_RDONLY, [&](uint64_t ino, uint64_t fh) {
    out->resize(size);
    absl::StatusOr<size_t> n =
        client_->ReadFully(ino, fh, offset, std::as_writable_bytes(std::span(*out)));
    if (!n.ok()) return ErrnoOf(n.status());
    out->resize(*n);
    return 0;
  });
}

int FsClientOps::Truncate(const std::string& path, int64_t size) {
  absl::StatusOr<LookupRef> file = client_->Resolve(path);
  if (!file.ok()) return ErrnoOf(file.status());
  SetAttrRequest request;
  request.set_ino(file->ino());
  request.set_valid(SET_ATTR_SIZE);
  request.set_size(size);
  return ErrnoOf(client_->SetAttr(request).status());
}

int FsClientOps::Rename(const std::string& from, const std::string& to) {
  return ErrnoOf(client_->Move(from, to));
}

int FsClientOps::Unlink(const std::string& path) { return ErrnoOf(client_->Remove(path)); }

int FsClientOps::Size(const std::string& path, int64_t* size) {
  absl::StatusOr<Attr> attr = client_->Stat(path);
  if (!attr.ok()) return ErrnoOf(attr.status());
  *size = static_cast<int64_t>(attr->size());
  return 0;
}

int FsClientOps::List(const std::string& path, std::vector<std::string>* names) {
  names->clear();
  absl::StatusOr<std::vector<DirEntry>> entries = client_->List(path);
  if (!entries.ok()) return ErrnoOf(entries.status());
  for (const DirEntry& entry : *entries) names->push_back(entry.name);
  return 0;
}

}  // namespace syslink::examples::fs
