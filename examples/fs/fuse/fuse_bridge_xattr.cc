// FuseBridge: extended attributes (setxattr, getxattr, listxattr, removexattr).

#include <errno.h>

#include <algorithm>
#include <string>

#include "examples/fs/fs_format.h"
#include "examples/fs/fuse/fuse_bridge.h"

namespace syslink::examples::fs {
namespace {

// A server of an older fs.proto answers UNIMPLEMENTED: as a filesystem without them.
int XattrErrno(const absl::Status& status) {
  return absl::IsUnimplemented(status) ? EOPNOTSUPP : KernelErrno(status);
}

}  // namespace

void FuseBridge::SetXattr(fuse_req_t req, fuse_ino_t node, const char* name, const char* value,
                          size_t size, int flags) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::Status s =
      lease->client().SetXattr(ino, name, std::string(value, size), static_cast<uint32_t>(flags));
  capabilities_.Drop(node);
  lease->Note(s);
  fuse_reply_err(req, s.ok() ? 0 : XattrErrno(s));
}

void FuseBridge::GetXattr(fuse_req_t req, fuse_ino_t node, const char* name, size_t size) {
  const bool capability = name == kCapabilityXattr;
  if (capability && capabilities_.KnownAbsent(node)) return (void)fuse_reply_err(req, ENODATA);
  const uint64_t asked = capabilities_.generation();
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::StatusOr<GetXattrResponse> got =
      lease->client().GetXattr(ino, name, static_cast<uint32_t>(std::min(size, kMaxXattrValue)));
  lease->Note(got.status());
  if (!got.ok()) {
    const int error = XattrErrno(got.status());
    if (capability && error == ENODATA) capabilities_.NoteAbsent(node, asked);
    return (void)fuse_reply_err(req, error);
  }
  if (size == 0) return (void)fuse_reply_xattr(req, got->size());
  fuse_reply_buf(req, got->value().data(), got->value().size());
}

void FuseBridge::ListXattr(fuse_req_t req, fuse_ino_t node, size_t size) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::StatusOr<ListXattrResponse> listed =
      lease->client().ListXattr(ino, static_cast<uint32_t>(std::min(size, kMaxXattrValue)));
  lease->Note(listed.status());
  if (!listed.ok()) return (void)fuse_reply_err(req, XattrErrno(listed.status()));
  if (size == 0) return (void)fuse_reply_xattr(req, listed->size());
  fuse_reply_buf(req, listed->names().data(), listed->names().size());
}

void FuseBridge::RemoveXattr(fuse_req_t req, fuse_ino_t node, const char* name) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::Status s = lease->client().RemoveXattr(ino, name);
  capabilities_.Drop(node);
  lease->Note(s);
  fuse_reply_err(req, s.ok() ? 0 : XattrErrno(s));
}

}  // namespace syslink::examples::fs
