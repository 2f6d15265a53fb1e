// FuseBridge: files (create, open, read, write, release, fsync) and directories (open,
// read, release). flush is in fuse_bridge_locks.cc.

#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "examples/fs/fs_format.h"
#include "examples/fs/fs_status.h"
#include "examples/fs/fuse/fuse_bridge.h"
#include "rpc/context.h"

namespace syslink::examples::fs {
namespace {

// The open(2) flags the server gets under the writeback cache: read-write rather than
// write-only (the kernel reads the rest of a page it writes part of), and no O_APPEND
// (the kernel places appended bytes itself).
uint32_t WritebackFlags(int flags) {
  flags &= ~O_APPEND;
  if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
  return static_cast<uint32_t>(flags);
}

// Runs `open` with the flags the server should get, and again with the kernel's own when
// widening them to read-write was refused (a file the caller may only write).
template <typename Open>
auto OpenAs(bool writeback, int flags, Open open) {
  if (!writeback || WritebackFlags(flags) == static_cast<uint32_t>(flags)) return open(flags);
  auto opened = open(static_cast<int>(WritebackFlags(flags)));
  if (ErrnoOf(opened.status()) == EACCES) {
    opened = open(static_cast<int>(static_cast<uint32_t>(flags) & ~uint32_t{O_APPEND}));
  }
  return opened;
}

// `handle`, with the caller of `req` as its opener.
HandleTable::Handle OpenedBy(fuse_req_t req, HandleTable::Handle handle) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  handle.opener_uid = ctx->uid;
  handle.opener_gid = ctx->gid;
  return handle;
}

}  // namespace

void FuseBridge::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                        fuse_file_info* fi) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::StatusOr<FsClient::Created> created = OpenAs(options_.writeback, fi->flags, [&](int flags) {
    return lease->client().Create(ino, name, mode & 07777, static_cast<uint32_t>(flags));
  });
  if (!created.ok()) return ReplyError(req, *lease, created.status());
  fi->fh = handles_.Add(OpenedBy(req, {created->fh, lease->epoch(), created->entry.ino()}));
  SetCaching(fi);
  ReplyEntry(req, *lease, created->entry, fi);
}

void FuseBridge::Open(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::StatusOr<uint64_t> fh = OpenAs(options_.writeback, fi->flags, [&](int flags) {
    return lease->client().Open(ino, static_cast<uint32_t>(flags));
  });
  if (!fh.ok()) return ReplyError(req, *lease, fh.status());
  fi->fh = handles_.Add(OpenedBy(req, {*fh, lease->epoch(), ino}));
  SetCaching(fi);
  if (fuse_reply_open(req, fi) != 0) {
    ReleaseHandle(fi->fh, /*directory=*/false, &*lease);
  }
}

void FuseBridge::Read(fuse_req_t req, fuse_ino_t node, size_t size, off_t offset,
                      fuse_file_info* fi) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  const size_t server_max = std::min<size_t>(
      kMaxIoSize, lease->limits().max_read() > 0 ? lease->limits().max_read() : kMaxIoSize);
  if (size <= server_max) {  // one call: the server's buffer goes to the kernel as it is
    absl::StatusOr<rpc::Attachment> piece =
        lease->client().Read(ino, fh, offset, static_cast<uint32_t>(size));
    if (!piece.ok()) return ReplyError(req, *lease, piece.status());
    fuse_reply_buf(req, reinterpret_cast<const char*>(piece->data().data()),
                   std::min(piece->size(), size));
    return;
  }
  // A server whose reads are smaller than the kernel's: gather them.
  std::vector<std::byte> out(size);
  absl::StatusOr<size_t> got = lease->client().ReadFully(ino, fh, offset, out);
  if (!got.ok()) return ReplyError(req, *lease, got.status());
  fuse_reply_buf(req, reinterpret_cast<const char*>(out.data()), *got);
}

void FuseBridge::Write(fuse_req_t req, fuse_ino_t node, fuse_bufvec* data, off_t offset,
                       fuse_file_info* fi) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  if (fi->writepage && lease->limits().acts_for_others()) {
    // From the page cache (--writeback): the kernel names no caller (it would read as
    // root, and a set-ID file would keep its bits), so the write goes as the handle's
    // opener, whose write(2) it most likely carries.
    if (std::optional<HandleTable::Handle> handle = handles_.Find(fi->fh); handle.has_value()) {
      OnBehalfOf opener;
      opener.set_uid(handle->opener_uid);
      opener.set_gid(handle->opener_gid);
      lease->client().set_on_behalf_of(opener);
    }
  }
  const size_t server_max = std::min<size_t>(
      kMaxIoSize, lease->limits().max_write() > 0 ? lease->limits().max_write() : kMaxIoSize);
  const size_t total = fuse_buf_size(data);
  size_t done = 0;
  while (done < total) {
    absl::StatusOr<rpc::Attachment> buffer = lease->TakeWriteBuffer();
    if (!buffer.ok()) return ReplyError(req, *lease, buffer.status());
    const size_t want = std::min(total - done, std::min(server_max, buffer->size()));
    fuse_bufvec into = FUSE_BUFVEC_INIT(want);
    into.buf[0].mem = buffer->data().data();
    // Copies from the kernel's request (memory, or a pipe when spliced) into the DMA
    // buffer, advancing `data`.
    const ssize_t copied = fuse_buf_copy(&into, data, static_cast<fuse_buf_copy_flags>(0));
    if (copied <= 0) {
      lease->ReturnWriteBuffer(*std::move(buffer));
      fuse_reply_err(req, copied < 0 ? static_cast<int>(-copied) : EIO);
      return;
    }
    buffer->resize(static_cast<size_t>(copied));
    absl::StatusOr<uint32_t> written =
        lease->client().Write(ino, fh, offset + static_cast<off_t>(done), *buffer);
    lease->ReturnWriteBuffer(*std::move(buffer));
    if (!written.ok()) {
      if (done > 0) break;  // report what did reach the server
      return ReplyError(req, *lease, written.status());
    }
    done += *written;
    if (*written < static_cast<uint32_t>(copied)) break;
  }
  fuse_reply_write(req, done);
}

void FuseBridge::Fsync(fuse_req_t req, fuse_ino_t node, int datasync, fuse_file_info* fi) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  absl::Status s = lease->client().Fsync(ino, fh, datasync != 0);
  if (!s.ok()) return ReplyError(req, *lease, s);
  fuse_reply_err(req, 0);
}

void FuseBridge::Release(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  if (fi->flock_release) {
    // The handle's flock lock goes with it on the server: released before the answer.
    ReleaseHandle(fi->fh, /*directory=*/false);
    fuse_reply_err(req, 0);
    return;
  }
  fuse_reply_err(req, 0);  // the kernel has let go, whatever the server says
  ReleaseHandle(fi->fh, /*directory=*/false);
}

void FuseBridge::OpenDir(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::StatusOr<uint64_t> fh = lease->client().OpenDir(ino);
  if (!fh.ok()) return ReplyError(req, *lease, fh.status());
  fi->fh = handles_.Add({*fh, lease->epoch(), ino});
  if (fuse_reply_open(req, fi) != 0) {
    ReleaseHandle(fi->fh, /*directory=*/true, &*lease);
  }
}

void FuseBridge::ReadDir(fuse_req_t req, fuse_ino_t node, size_t size, off_t offset,
                         fuse_file_info* fi) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  ReadDirRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_offset(static_cast<uint64_t>(offset));
  request.set_size(static_cast<uint32_t>(std::min<size_t>(size, kMaxIoSize)));
  ReadDirResponse response;
  rpc::ClientContext context;
  absl::Status rpc = lease->client().stub().ReadDir(request, &response, &context);
  if (!rpc.ok()) return ReplyError(req, *lease, rpc);
  if (response.error() != 0) {
    return ReplyError(req, *lease, ErrnoError(response.error(), "readdir"));
  }
  // The packing is FUSE's fuse_dirent: check it, then hand it on without a copy.
  std::span<const std::byte> packed = std::as_const(context.response_attachment()).data();
  absl::StatusOr<std::vector<DirEntry>> entries = DecodeDirEntries(packed);
  if (!entries.ok() || entries->size() != response.entries() || packed.size() > size) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(packed.data()), packed.size());
}

void FuseBridge::ReleaseDir(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  fuse_reply_err(req, 0);
  ReleaseHandle(fi->fh, /*directory=*/true);
}

}  // namespace syslink::examples::fs
