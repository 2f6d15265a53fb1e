#include "examples/fs/lock_session.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "examples/fs/fs_status.h"

namespace syslink::examples::fs {
namespace {

std::atomic<uint64_t> next_id{1};

LockResponse Answer(uint64_t id, int error) {
  LockResponse response;
  response.set_id(id);
  response.set_error(error);
  return response;
}

LockRequest Request(LockOp op, uint64_t ino, uint64_t fh) {
  LockRequest request;
  request.set_op(op);
  request.set_ino(ino);
  request.set_fh(fh);
  return request;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LockSession>> LockSession::Open(
    std::shared_ptr<rpc::Channel> channel) {
  if (channel == nullptr) return absl::InvalidArgumentError("LockSession: no channel");
  std::unique_ptr<LockSession> session(new LockSession(std::move(channel)));
  session->stream_ = FileSystemStub(session->channel_).Locks(&session->context_);
  session->reader_ = std::thread([raw = session.get()] { raw->ReadAnswers(); });
  return session;
}

LockSession::LockSession(std::shared_ptr<rpc::Channel> channel) : channel_(std::move(channel)) {}

LockSession::~LockSession() {
  context_.TryCancel();
  reader_.join();
}

uint64_t LockSession::Reserve() {
  const uint64_t id = next_id.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mutex_);
  if (!ended_) pending_.emplace(id, Pending{});
  return id;
}

void LockSession::Start(uint64_t id, LockRequest request, Done done) {
  int error = 0;
  {
    // Held until the request is written, so that a Cancel() that finds it pending writes
    // its LOCK_CANCEL after it.
    absl::MutexLock write_lock(&write_mutex_);
    {
      absl::MutexLock lock(&mutex_);
      if (ended_) {
        error = ENOTCONN;
        pending_.erase(id);
      } else if (Pending& pending = pending_[id]; pending.cancelled) {
        error = EINTR;
        pending_.erase(id);
      } else {
        pending.done = std::move(done);
      }
    }
    if (error == 0) {
      request.set_id(id);
      // A write that fails means the stream ended: the reader answers what is pending.
      (void)stream_->Write(request);
      return;
    }
  }
  done(Answer(id, error));
}

void LockSession::Cancel(uint64_t id) {
  {
    absl::MutexLock lock(&mutex_);
    auto found = pending_.find(id);
    if (found == pending_.end()) return;
    if (!found->second.done) {
      found->second.cancelled = true;
      return;
    }
  }
  LockRequest request;
  request.set_op(LOCK_CANCEL);
  request.set_id(id);
  Send(request);
}

bool LockSession::ended() const {
  absl::MutexLock lock(&mutex_);
  return ended_;
}

void LockSession::Send(const LockRequest& request) {
  absl::MutexLock lock(&write_mutex_);
  (void)stream_->Write(request);
}

void LockSession::ReadAnswers() {
  LockResponse response;
  while (stream_->Read(&response)) {
    Done done;
    {
      absl::MutexLock lock(&mutex_);
      auto found = pending_.find(response.id());
      if (found == pending_.end() || !found->second.done) continue;  // not ours: ignored
      done = std::move(found->second.done);
      pending_.erase(found);
    }
    done(response);
  }
  absl::Status status = stream_->Finish();
  std::vector<std::pair<uint64_t, Done>> orphans;
  {
    absl::MutexLock lock(&mutex_);
    ended_ = true;
    end_status_ = std::move(status);
    for (auto& [id, pending] : pending_) {
      if (pending.done) orphans.emplace_back(id, std::move(pending.done));
    }
    pending_.clear();
  }
  for (auto& [id, done] : orphans) done(Answer(id, ENOTCONN));
}

absl::StatusOr<LockResponse> LockSession::Call(LockRequest request) {
  absl::Notification answered;
  LockResponse answer;
  Start(Reserve(), std::move(request), [&](const LockResponse& response) {
    answer = response;
    answered.Notify();
  });
  answered.WaitForNotification();
  if (answer.error() == ENOTCONN) {
    absl::MutexLock lock(&mutex_);
    if (ended_ && !end_status_.ok()) return end_status_;
  }
  if (answer.error() != 0) return ErrnoError(answer.error(), "lock");
  return answer;
}

absl::StatusOr<LockResponse> LockSession::Test(uint64_t ino, uint64_t fh, uint64_t owner,
                                               LockType type, uint64_t start, uint64_t end) {
  LockRequest request = Request(LOCK_GET, ino, fh);
  request.set_owner(owner);
  request.set_type(type);
  request.set_start(start);
  request.set_end(end);
  return Call(std::move(request));
}

absl::Status LockSession::Lock(uint64_t ino, uint64_t fh, uint64_t owner, LockType type,
                               uint64_t start, uint64_t end, bool wait, uint32_t pid) {
  LockRequest request = Request(LOCK_SET, ino, fh);
  request.set_owner(owner);
  request.set_type(type);
  request.set_start(start);
  request.set_end(end);
  request.set_wait(wait);
  request.set_pid(pid != 0 ? pid : static_cast<uint32_t>(getpid()));
  return Call(std::move(request)).status();
}

absl::Status LockSession::Flock(uint64_t ino, uint64_t fh, LockType type, bool wait) {
  LockRequest request = Request(LOCK_FLOCK, ino, fh);
  request.set_type(type);
  request.set_wait(wait);
  request.set_pid(static_cast<uint32_t>(getpid()));
  return Call(std::move(request)).status();
}

absl::Status LockSession::ReleaseOwner(uint64_t ino, uint64_t fh, uint64_t owner) {
  LockRequest request = Request(LOCK_RELEASE_OWNER, ino, fh);
  request.set_owner(owner);
  return Call(std::move(request)).status();
}

}  // namespace syslink::examples::fs
