// PassthroughFs: space (Fallocate) and copies made on the host (CopyFileRange), both by the
// host's own system calls on the handles' descriptors.

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "examples/fs/caller.h"
#include "examples/fs/fs_format.h"
#include "examples/fs/passthrough/answer.h"
#include "examples/fs/passthrough/passthrough_service.h"

namespace syslink::examples::fs {

absl::Status PassthroughFs::Fallocate(Context& context, const FallocateRequest& request,
                                      Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  std::shared_ptr<HostHandle> handle = handles_.Find(request.ino(), request.fh(), false);
  if (handle == nullptr) return Answer(response, EBADF);
  // In fallocate(2)'s order: the range, the mode, the handle's access (the host: the size).
  if (request.offset() < 0 || request.length() <= 0) return Answer(response, EINVAL);
  const uint32_t mode = request.mode();
  if (mode != FALLOCATE_ALLOCATE && mode != FALLOCATE_KEEP_SIZE &&
      mode != (FALLOCATE_PUNCH_HOLE | FALLOCATE_KEEP_SIZE)) {
    return Answer(response, EOPNOTSUPP);
  }
  if (!handle->writable()) return Answer(response, EBADF);
  // As the caller, as Write: the kernel drops set-ID bits on a change by a caller who is not
  // root (and spends no blocks reserved for root); checking for the caller, the server drops
  // them itself.
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  if (int error = scope.RemovePrivileges(handle->fd.get()); error != 0) {
    return Answer(response, error);
  }
  static_assert(
      FALLOCATE_KEEP_SIZE == FALLOC_FL_KEEP_SIZE && FALLOCATE_PUNCH_HOLE == FALLOC_FL_PUNCH_HOLE,
      "fs.proto's FallocateFlag values are fallocate(2)'s");
  if (fallocate(handle->fd.get(), static_cast<int>(mode), request.offset(), request.length()) !=
      0) {
    return Answer(response, errno);
  }
  return Answer(response, 0);
}

absl::Status PassthroughFs::CopyFileRange(Context& context, const CopyFileRangeRequest& request,
                                          CopyFileRangeResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  std::shared_ptr<HostHandle> in = handles_.Find(request.ino_in(), request.fh_in(), false);
  // A directory's handle is open for reading: as input it is EISDIR, after the EBADF checks.
  const bool in_dir =
      in == nullptr && (in = handles_.Find(request.ino_in(), request.fh_in(), true)) != nullptr;
  std::shared_ptr<HostHandle> out = handles_.Find(request.ino_out(), request.fh_out(), false);
  if (in == nullptr || !in->readable() || out == nullptr || !out->writable()) {
    return Answer(response, EBADF);
  }
  if (in_dir) return Answer(response, EISDIR);
  if (request.offset_in() < 0 || request.offset_out() < 0 || request.flags() != 0) {
    return Answer(response, EINVAL);
  }
  // As the caller: the kernel drops set-ID bits on a write by a caller who is not root;
  // checking for the caller, the server drops them itself.
  CallerScope scope = Enter(*caller);
  if (scope.error() != 0) return Answer(response, scope.error());
  if (request.length() > 0) {
    if (int error = scope.RemovePrivileges(out->fd.get()); error != 0) {
      return Answer(response, error);
    }
  }
  loff_t from = request.offset_in();
  loff_t to = request.offset_out();
  const size_t length = static_cast<size_t>(std::min(request.length(), kMaxCopySize));
  ssize_t copied;
  do {
    copied = copy_file_range(in->fd.get(), &from, out->fd.get(), &to, length, 0);
  } while (copied < 0 && errno == EINTR);
  if (copied < 0) return Answer(response, errno);
  response->set_size(static_cast<uint64_t>(copied));
  return Answer(response, 0);
}

}  // namespace syslink::examples::fs
