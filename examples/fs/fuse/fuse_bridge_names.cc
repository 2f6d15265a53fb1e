// FuseBridge: operations on names (make, link, remove, rename) and symlink targets.

#include <errno.h>

#include "examples/fs/fuse/fuse_bridge.h"

namespace syslink::examples::fs {

void FuseBridge::ReadLink(fuse_req_t req, fuse_ino_t node) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::StatusOr<std::string> target = lease->client().ReadLink(ino);
  if (!target.ok()) return ReplyError(req, *lease, target.status());
  if (target->find('\0') != std::string::npos) {  // the kernel takes a C string
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_readlink(req, target->c_str());
}

void FuseBridge::Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                       dev_t rdev) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::StatusOr<Entry> entry = lease->client().Mknod(ino, name, mode, rdev);
  if (!entry.ok()) return ReplyError(req, *lease, entry.status());
  ReplyEntry(req, *lease, *entry);
}

void FuseBridge::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::StatusOr<Entry> entry = lease->client().Mkdir(ino, name, mode & 07777);
  if (!entry.ok()) return ReplyError(req, *lease, entry.status());
  ReplyEntry(req, *lease, *entry);
}

void FuseBridge::Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::StatusOr<Entry> entry = lease->client().Symlink(ino, name, target);
  if (!entry.ok()) return ReplyError(req, *lease, entry.status());
  ReplyEntry(req, *lease, *entry);
}

void FuseBridge::Link(fuse_req_t req, fuse_ino_t node, fuse_ino_t new_parent,
                      const char* new_name) {
  uint64_t ino, parent_ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !SameEpoch(req, *lease, new_parent, &parent_ino)) return;
  absl::StatusOr<Entry> entry = lease->client().Link(ino, parent_ino, new_name);
  if (!entry.ok()) return ReplyError(req, *lease, entry.status());
  ReplyEntry(req, *lease, *entry);
}

void FuseBridge::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::Status s = lease->client().Unlink(ino, name);
  if (!s.ok()) return ReplyError(req, *lease, s);
  fuse_reply_err(req, 0);
}

void FuseBridge::Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::Status s = lease->client().Rmdir(ino, name);
  if (!s.ok()) return ReplyError(req, *lease, s);
  fuse_reply_err(req, 0);
}

void FuseBridge::Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
                        const char* new_name, unsigned int flags) {
  uint64_t ino, new_ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease || !SameEpoch(req, *lease, new_parent, &new_ino)) return;
  // renameat2's flags are fs.proto's RenameFlag values; the server refuses others (EINVAL).
  absl::Status s = lease->client().Rename(ino, name, new_ino, new_name, flags);
  if (!s.ok()) return ReplyError(req, *lease, s);
  fuse_reply_err(req, 0);
}

}  // namespace syslink::examples::fs
