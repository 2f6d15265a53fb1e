#include "examples/fs/lock_service.h"

#include <errno.h>
#include <fcntl.h>

#include <memory>
#include <optional>
#include <thread>
#include <utility>

namespace syslink::examples::fs {
namespace {

// Whether a handle opened with `flags` may take a lock of `type` (fcntl(2): a read lock
// needs a handle open for reading, a write lock one open for writing).
bool ModeAllows(uint32_t flags, LockType type) {
  const uint32_t access = flags & O_ACCMODE;
  if (type == LOCK_SHARED) return access == O_RDONLY || access == O_RDWR;
  if (type == LOCK_EXCLUSIVE) return access == O_WRONLY || access == O_RDWR;
  return true;
}

// The answer to `request`, or nullopt when it has none now (a wait, a cancel).
std::optional<LockResponse> Handle(LockTable& table, uint64_t session, const LockRequest& request,
                                   const HandleLookup& lookup) {
  LockResponse response;
  response.set_id(request.id());
  if (request.op() == LOCK_CANCEL) {
    (void)table.Cancel(session, request.id());
    return std::nullopt;
  }
  if (request.op() != LOCK_GET && request.op() != LOCK_SET && request.op() != LOCK_FLOCK &&
      request.op() != LOCK_RELEASE_OWNER) {
    response.set_error(EINVAL);
    return response;
  }
  uint32_t flags = 0;
  LockFile file;
  if (lookup(request.ino(), request.fh(), &flags, &file) != 0) {
    response.set_error(EBADF);
    return response;
  }
  int error = 0;
  switch (request.op()) {
    case LOCK_GET:
      error = table.Get(session, file, request, &response);
      break;
    case LOCK_SET:
      error = ModeAllows(flags, request.type()) ? table.Set(session, file, request) : EBADF;
      break;
    case LOCK_FLOCK:
      error = table.Flock(session, file, request);
      break;
    default:  // LOCK_RELEASE_OWNER
      table.ReleaseOwner(session, file, request.owner());
      break;
  }
  if (error == kLockWaiting) return std::nullopt;
  if (error != 0) {
    response.Clear();
    response.set_id(request.id());
    response.set_error(error);
  }
  return response;
}

}  // namespace

absl::Status ServeLockSession(LockStream* stream, LockTable& table, const HandleLookup& lookup) {
  auto outbox = std::make_shared<LockOutbox>();
  const uint64_t session = table.OpenSession(outbox);
  std::thread writer([&stream, outbox] {
    LockResponse answer;
    while (outbox->Pop(&answer)) {
      if (!stream->Write(answer)) outbox->Close();  // the client no longer reads
    }
  });
  LockRequest request;
  while (outbox->WaitBelow(kMaxQueuedAnswers) && stream->Read(&request)) {
    if (std::optional<LockResponse> answer = Handle(table, session, request, lookup)) {
      outbox->Push(*std::move(answer));
    }
  }
  table.CloseSession(session);
  outbox->Close();
  writer.join();
  return absl::OkStatus();
}

}  // namespace syslink::examples::fs
