// MemTree: space (Fallocate) and copies made inside the server (CopyFileRange).

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "examples/fs/fs_format.h"
#include "examples/fs/memfs_tree.h"

namespace syslink::examples::fs {
namespace {

bool Readable(uint32_t flags) { return (flags & O_ACCMODE) != O_WRONLY; }
bool Writable(uint32_t flags) { return (flags & O_ACCMODE) != O_RDONLY; }

}  // namespace

int MemTree::Fallocate(const Caller& caller, const FallocateRequest& request) {
  absl::WriterMutexLock lock(&mutex_);
  const Handle* handle;
  if (FindHandle(request.ino(), request.fh(), /*dir=*/false, &handle) != 0) return EBADF;
  // In fallocate(2)'s order: the range, the mode, the handle's access, the size.
  if (request.offset() < 0 || request.length() <= 0) return EINVAL;
  const uint32_t mode = request.mode();
  const bool punch = mode == (FALLOCATE_PUNCH_HOLE | FALLOCATE_KEEP_SIZE);
  if (!punch && mode != FALLOCATE_ALLOCATE && mode != FALLOCATE_KEEP_SIZE) return EOPNOTSUPP;
  if (!Writable(handle->flags)) return EBADF;
  const uint64_t offset = static_cast<uint64_t>(request.offset());
  const uint64_t length = static_cast<uint64_t>(request.length());
  if (length > options_.max_file_size || offset > options_.max_file_size - length) return EFBIG;
  Inode* inode = Find(request.ino());
  if (punch) {
    inode->data.PunchHole(offset, length, pool_);
  } else if (int error = inode->data.Allocate(offset, length, mode == FALLOCATE_KEEP_SIZE, pool_,
                                              options_.max_file_size);
             error != 0) {
    return error;
  }
  inode->mtime_ns = inode->ctime_ns = NowNanos();
  inode->RemovePrivileges(caller);  // a change of the file's data, as a write's
  return 0;
}

int MemTree::CopyFileRange(const Caller& caller, const CopyFileRangeRequest& request,
                           uint64_t* copied) {
  *copied = 0;
  absl::WriterMutexLock lock(&mutex_);
  const Handle* in;
  const Handle* out;
  // A directory's handle is open for reading: as input it is EISDIR, after the EBADF checks.
  const bool in_dir = FindHandle(request.ino_in(), request.fh_in(), /*dir=*/true, &in) == 0;
  if ((!in_dir && FindHandle(request.ino_in(), request.fh_in(), /*dir=*/false, &in) != 0) ||
      !Readable(in->flags) ||
      FindHandle(request.ino_out(), request.fh_out(), /*dir=*/false, &out) != 0 ||
      !Writable(out->flags) || (out->flags & O_APPEND)) {
    return EBADF;
  }
  if (in_dir) return EISDIR;
  if (request.offset_in() < 0 || request.offset_out() < 0 || request.flags() != 0) {
    return EINVAL;
  }
  const Inode* source = Find(request.ino_in());
  Inode* target = Find(request.ino_out());
  const uint64_t from = static_cast<uint64_t>(request.offset_in());
  const uint64_t to = static_cast<uint64_t>(request.offset_out());
  const uint64_t size = source->data.size();
  const uint64_t length =
      from >= size ? 0 : std::min({request.length(), size - from, kMaxCopySize});
  if (source == target && from < to + length && to < from + length) return EINVAL;
  if (length == 0) return 0;
  // Piece by piece through one buffer: the bytes stay in this process.
  std::vector<std::byte> piece(std::min<uint64_t>(length, FileData::kBlockSize));
  uint64_t done = 0;
  while (done < length) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), length - done));
    const size_t read = source->data.Read(from + done, std::span(piece).first(n));
    if (int error = target->data.Write(to + done, std::span(piece).first(read), pool_,
                                       options_.max_file_size);
        error != 0) {
      if (done == 0) return error;
      break;  // what was copied stands, as a short copy
    }
    done += read;
  }
  target->mtime_ns = target->ctime_ns = NowNanos();
  target->RemovePrivileges(caller);
  *copied = done;
  return 0;
}

}  // namespace syslink::examples::fs
