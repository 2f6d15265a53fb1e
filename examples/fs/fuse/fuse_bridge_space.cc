// FuseBridge: space (fallocate) and copies made inside the server (copy_file_range).

#include <errno.h>

#include "examples/fs/fuse/fuse_bridge.h"

namespace syslink::examples::fs {
namespace {

// A server of an older fs.proto answers UNIMPLEMENTED: the kernel hears `error`.
int ErrnoOrMissing(const absl::Status& status, int error) {
  return absl::IsUnimplemented(status) ? error : KernelErrno(status);
}

}  // namespace

void FuseBridge::Fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t offset, off_t length,
                           fuse_file_info* fi) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  absl::Status s = lease->client().Fallocate(ino, fh, static_cast<uint32_t>(mode), offset, length);
  lease->Note(s);
  fuse_reply_err(req, s.ok() ? 0 : ErrnoOrMissing(s, EOPNOTSUPP));
}

void FuseBridge::CopyFileRange(fuse_req_t req, fuse_ino_t node_in, off_t offset_in,
                               fuse_file_info* fi_in, fuse_ino_t node_out, off_t offset_out,
                               fuse_file_info* fi_out, size_t length, int flags) {
  uint64_t ino_in, ino_out, fh_in, fh_out;
  std::optional<Upstream::Lease> lease = Begin(req, node_in, &ino_in);
  if (!lease || !SameEpoch(req, *lease, node_out, &ino_out) ||
      !ServerHandle(req, *lease, fi_in, &fh_in) || !ServerHandle(req, *lease, fi_out, &fh_out)) {
    return;
  }
  if (flags != 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  absl::StatusOr<uint64_t> copied =
      lease->client().CopyFileRange(ino_in, fh_in, offset_in, ino_out, fh_out, offset_out, length);
  lease->Note(copied.status());
  // ENOSYS lets the kernel copy through the page cache instead, as for any filesystem.
  if (!copied.ok()) return (void)fuse_reply_err(req, ErrnoOrMissing(copied.status(), ENOSYS));
  fuse_reply_write(req, static_cast<size_t>(*copied));
}

}  // namespace syslink::examples::fs
