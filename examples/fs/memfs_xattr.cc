// MemTree: extended attributes (SetXattr, GetXattr, ListXattr, RemoveXattr).

#include <errno.h>

#include <string>

#include "examples/fs/fs_format.h"
#include "examples/fs/memfs_tree.h"

namespace syslink::examples::fs {
namespace {

// Bytes an inode's attributes take against MemTree::kMaxXattrBytes.
size_t XattrBytes(const Inode& inode) {
  size_t bytes = 0;
  for (const auto& [name, value] : inode.xattrs) bytes += name.size() + value.size();
  return bytes;
}

}  // namespace

int MemTree::SetXattr(const Caller& caller, const SetXattrRequest& request) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* inode = Find(request.ino());
  if (inode == nullptr) return ENOENT;
  const uint32_t flags = request.flags();
  if ((flags & ~uint32_t{XATTR_FLAG_CREATE | XATTR_FLAG_REPLACE}) != 0 ||
      flags == (XATTR_FLAG_CREATE | XATTR_FLAG_REPLACE)) {
    return EINVAL;
  }
  const std::string& name = request.name();
  if (int error = MayXattr(*inode, caller, name, /*write=*/true); error != 0) return error;
  if (request.value().size() > kMaxXattrValue) return E2BIG;
  auto existing = inode->xattrs.find(name);
  if ((flags & XATTR_FLAG_CREATE) && existing != inode->xattrs.end()) return EEXIST;
  if ((flags & XATTR_FLAG_REPLACE) && existing == inode->xattrs.end()) return ENODATA;
  const size_t now = XattrBytes(*inode);
  const size_t before = existing == inode->xattrs.end() ? 0 : name.size() + existing->second.size();
  if (now - before + name.size() + request.value().size() > kMaxXattrBytes) return ENOSPC;
  inode->xattrs[name] = request.value();
  inode->ctime_ns = NowNanos();
  return 0;
}

int MemTree::GetXattr(const Caller& caller, const GetXattrRequest& request,
                      GetXattrResponse* out) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Inode* inode = Find(request.ino());
  if (inode == nullptr) return ENOENT;
  const std::string& name = request.name();
  if (int error = MayXattr(*inode, caller, name, /*write=*/false); error != 0) return error;
  auto found = inode->xattrs.find(name);
  if (found == inode->xattrs.end()) return ENODATA;
  out->set_size(static_cast<uint32_t>(found->second.size()));
  if (request.size() == 0) return 0;
  if (found->second.size() > request.size()) return ERANGE;
  out->set_value(found->second);
  return 0;
}

int MemTree::ListXattr(const Caller& caller, const ListXattrRequest& request,
                       ListXattrResponse* out) const {
  absl::ReaderMutexLock lock(&mutex_);
  const Inode* inode = Find(request.ino());
  if (inode == nullptr) return ENOENT;
  std::string names;
  for (const auto& [name, value] : inode->xattrs) {
    if (!ListsXattr(caller, name)) continue;
    names.append(name);
    names.push_back('\0');
  }
  out->set_size(static_cast<uint32_t>(names.size()));
  if (request.size() == 0) return 0;
  if (names.size() > request.size()) return ERANGE;
  out->set_names(std::move(names));
  return 0;
}

int MemTree::RemoveXattr(const Caller& caller, const RemoveXattrRequest& request) {
  absl::WriterMutexLock lock(&mutex_);
  Inode* inode = Find(request.ino());
  if (inode == nullptr) return ENOENT;
  const std::string& name = request.name();
  if (int error = MayXattr(*inode, caller, name, /*write=*/true); error != 0) return error;
  auto found = inode->xattrs.find(name);
  if (found == inode->xattrs.end()) return ENODATA;
  inode->xattrs.erase(found);
  inode->ctime_ns = NowNanos();
  return 0;
}

}  // namespace syslink::examples::fs
