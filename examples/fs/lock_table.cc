#include "examples/fs/lock_table.h"

#include <errno.h>

#include <algorithm>
#include <utility>

#include "examples/fs/fs_format.h"

namespace syslink::examples::fs {
namespace {

bool Overlaps(uint64_t start, uint64_t end, uint64_t other_start, uint64_t other_end) {
  return start <= other_end && other_start <= end;
}

// Whether [start, end] overlaps or touches [other_start, other_end].
bool Touches(uint64_t start, uint64_t end, uint64_t other_start, uint64_t other_end) {
  const uint64_t after = other_end == kLockEof ? other_end : other_end + 1;
  const uint64_t before = other_start == 0 ? 0 : other_start - 1;
  return start <= after && before <= end;
}

bool ValidType(LockType type) {
  return type == LOCK_UNLOCK || type == LOCK_SHARED || type == LOCK_EXCLUSIVE;
}

bool ValidRange(const LockRequest& request) {
  return request.start() <= request.end() && request.end() <= kLockEof;
}

}  // namespace

// --- LockOutbox ---

void LockOutbox::Push(LockResponse response) {
  absl::MutexLock lock(&mutex_);
  if (!closed_) queue_.push_back(std::move(response));
}

bool LockOutbox::Pop(LockResponse* out) {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](LockOutbox* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
        return self->closed_ || !self->queue_.empty();
      },
      this));
  if (closed_) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

bool LockOutbox::WaitBelow(size_t limit) {
  absl::MutexLock lock(&mutex_);
  auto below = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return closed_ || queue_.size() < limit;
  };
  mutex_.Await(absl::Condition(&below));
  return !closed_;
}

void LockOutbox::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
  queue_.clear();
}

size_t LockOutbox::queued() const {
  absl::MutexLock lock(&mutex_);
  return queue_.size();
}

// --- LockTable ---

uint64_t LockTable::OpenSession(std::shared_ptr<LockOutbox> outbox) {
  absl::MutexLock lock(&mutex_);
  const uint64_t session = next_session_++;
  sessions_[session].outbox = std::move(outbox);
  return session;
}

void LockTable::CloseSession(uint64_t session) {
  absl::MutexLock lock(&mutex_);
  auto found = sessions_.find(session);
  if (found == sessions_.end()) return;
  const absl::flat_hash_set<LockFile> files = std::move(found->second.files);
  sessions_.erase(found);
  for (const LockFile& key : files) {
    auto file = files_.find(key);
    if (file == files_.end()) continue;
    std::erase_if(file->second.held, [&](const Held& held) { return held.session == session; });
    std::erase_if(file->second.waiters,
                  [&](const Waiter& waiter) { return waiter.want.session == session; });
    Grant(key);
    Tidy(key, session);
  }
}

LockTable::Owner LockTable::OwnerOf(uint64_t session, const LockRequest& request, bool flock) {
  if (flock) return Owner{.flock = true, .session = 0, .id = request.fh()};
  return Owner{.flock = false, .session = session, .id = request.owner()};
}

const LockTable::Held* LockTable::Conflict(const File& file, const Held& want) {
  for (const Held& held : file.held) {
    if (held.owner.flock != want.owner.flock || held.owner == want.owner) continue;
    if (!held.exclusive && !want.exclusive) continue;
    if (Overlaps(held.start, held.end, want.start, want.end)) return &held;
  }
  return nullptr;
}

int LockTable::Apply(File& file, const Held& want, LockType type) {
  std::vector<Held> kept;               // everything but the owner's ranges
  std::vector<Held> mine;               // the owner's ranges after the change
  std::vector<uint64_t> lost_sessions;  // who took each range of the owner's before
  kept.reserve(file.held.size() + 2);
  Held merged = want;
  const bool locking = type != LOCK_UNLOCK;
  for (const Held& held : file.held) {
    if (!(held.owner == want.owner)) {
      kept.push_back(held);
      continue;
    }
    lost_sessions.push_back(held.session);
    if (locking && held.exclusive == want.exclusive &&
        Touches(held.start, held.end, want.start, want.end)) {
      merged.start = std::min(merged.start, held.start);
      merged.end = std::max(merged.end, held.end);
      continue;
    }
    if (!Overlaps(held.start, held.end, want.start, want.end)) {
      mine.push_back(held);
      continue;
    }
    if (held.start < want.start) {
      Held left = held;
      left.end = want.start - 1;
      mine.push_back(left);
    }
    if (held.end > want.end) {
      Held right = held;
      right.start = want.end + 1;
      mine.push_back(right);
    }
  }
  if (locking) mine.push_back(merged);

  auto session = sessions_.find(want.session);
  if (session != sessions_.end()) {
    const size_t before = std::count(lost_sessions.begin(), lost_sessions.end(), want.session);
    const size_t after = std::count_if(
        mine.begin(), mine.end(), [&](const Held& held) { return held.session == want.session; });
    if (after > before && session->second.held - before + after > kMaxLocksPerSession) {
      return ENOLCK;
    }
  }
  for (uint64_t lost : lost_sessions) {
    if (auto it = sessions_.find(lost); it != sessions_.end()) --it->second.held;
  }
  for (const Held& held : mine) {
    if (auto it = sessions_.find(held.session); it != sessions_.end()) ++it->second.held;
  }
  kept.insert(kept.end(), mine.begin(), mine.end());
  file.held = std::move(kept);
  return 0;
}

int LockTable::Get(uint64_t session, LockFile key, const LockRequest& request, LockResponse* out) {
  if (!ValidType(request.type()) || request.type() == LOCK_UNLOCK || !ValidRange(request)) {
    return EINVAL;
  }
  absl::MutexLock lock(&mutex_);
  out->set_type(LOCK_UNLOCK);
  auto file = files_.find(key);
  if (file == files_.end()) return 0;
  const Held want{.owner = OwnerOf(session, request, /*flock=*/false),
                  .session = session,
                  .exclusive = request.type() == LOCK_EXCLUSIVE,
                  .start = request.start(),
                  .end = request.end()};
  if (const Held* held = Conflict(file->second, want); held != nullptr) {
    out->set_type(held->exclusive ? LOCK_EXCLUSIVE : LOCK_SHARED);
    out->set_start(held->start);
    out->set_end(held->end);
    out->set_pid(held->pid);
  }
  return 0;
}

int LockTable::Set(uint64_t session, LockFile file, const LockRequest& request) {
  if (!ValidType(request.type()) || !ValidRange(request)) return EINVAL;
  absl::MutexLock lock(&mutex_);
  const Held want{.owner = OwnerOf(session, request, /*flock=*/false),
                  .session = session,
                  .exclusive = request.type() == LOCK_EXCLUSIVE,
                  .start = request.start(),
                  .end = request.end(),
                  .pid = request.pid()};
  return Lock(file, want, request.type(), request);
}

int LockTable::Flock(uint64_t session, LockFile file, const LockRequest& request) {
  if (!ValidType(request.type())) return EINVAL;
  absl::MutexLock lock(&mutex_);
  const Held want{.owner = OwnerOf(session, request, /*flock=*/true),
                  .session = session,
                  .exclusive = request.type() == LOCK_EXCLUSIVE,
                  .start = 0,
                  .end = kLockEof,
                  .pid = request.pid()};
  return Lock(file, want, request.type(), request);
}

int LockTable::Lock(LockFile key, const Held& want, LockType type, const LockRequest& request) {
  auto session = sessions_.find(want.session);
  if (session == sessions_.end()) return EINVAL;
  if (type != LOCK_UNLOCK && session->second.waits.contains(request.id())) return EINVAL;
  File& file = files_[key];
  session->second.files.insert(key);
  int error = 0;
  bool released = false;
  if (type == LOCK_UNLOCK) {
    error = Apply(file, want, type);
    released = true;
  } else {
    if (want.owner.flock) {
      // flock(2) gives up a held lock of the other type before it asks for the new one.
      for (const Held& held : file.held) {
        if (held.owner == want.owner && held.exclusive != want.exclusive) {
          (void)Apply(file, want, LOCK_UNLOCK);
          released = true;
          break;
        }
      }
    }
    if (released) Grant(key);
    released = false;
    if (Conflict(file, want) == nullptr) {
      error = Apply(file, want, type);
    } else if (!request.wait()) {
      error = EAGAIN;
    } else if (session->second.waits.size() >= kMaxWaitsPerSession) {
      error = ENOLCK;
    } else {
      file.waiters.push_back(
          Waiter{.want = want, .type = type, .id = request.id(), .fh = request.fh()});
      session->second.waits[request.id()] = key;
      return kLockWaiting;
    }
  }
  if (released) Grant(key);
  Tidy(key, want.session);
  return error;
}

void LockTable::Grant(LockFile key) {
  auto found = files_.find(key);
  if (found == files_.end()) return;
  File& file = found->second;
  for (bool granted = true; granted;) {
    granted = false;
    for (auto waiter = file.waiters.begin(); waiter != file.waiters.end(); ++waiter) {
      if (Conflict(file, waiter->want) != nullptr) continue;
      const Waiter grant = std::move(*waiter);
      file.waiters.erase(waiter);
      if (auto session = sessions_.find(grant.want.session); session != sessions_.end()) {
        session->second.waits.erase(grant.id);
      }
      Answer(grant.want.session, grant.id, Apply(file, grant.want, grant.type));
      granted = true;
      break;
    }
  }
}

void LockTable::ReleaseOwner(uint64_t session, LockFile key, uint64_t owner) {
  absl::MutexLock lock(&mutex_);
  auto file = files_.find(key);
  if (file == files_.end()) return;
  const Held want{.owner = Owner{.flock = false, .session = session, .id = owner},
                  .session = session,
                  .start = 0,
                  .end = kLockEof};
  (void)Apply(file->second, want, LOCK_UNLOCK);  // unlocking whole owners never adds ranges
  Grant(key);
  Tidy(key, session);
}

bool LockTable::Cancel(uint64_t session, uint64_t id) {
  absl::MutexLock lock(&mutex_);
  auto found = sessions_.find(session);
  if (found == sessions_.end()) return false;
  auto wait = found->second.waits.find(id);
  if (wait == found->second.waits.end()) return false;
  const LockFile key = wait->second;
  found->second.waits.erase(wait);
  if (auto file = files_.find(key); file != files_.end()) {
    std::erase_if(file->second.waiters, [&](const Waiter& waiter) {
      return waiter.want.session == session && waiter.id == id;
    });
  }
  Answer(session, id, EINTR);
  Tidy(key, session);
  return true;
}

void LockTable::DropHandle(LockFile key, uint64_t fh) {
  absl::MutexLock lock(&mutex_);
  auto file = files_.find(key);
  if (file == files_.end()) return;
  const Owner owner{.flock = true, .session = 0, .id = fh};
  std::vector<uint64_t> sessions;
  for (const Held& held : file->second.held) {
    if (held.owner == owner) sessions.push_back(held.session);
  }
  for (const Waiter& waiter : file->second.waiters) {
    if (waiter.want.owner == owner) {
      sessions.push_back(waiter.want.session);
      if (auto session = sessions_.find(waiter.want.session); session != sessions_.end()) {
        session->second.waits.erase(waiter.id);
      }
      Answer(waiter.want.session, waiter.id, EBADF);
    }
  }
  std::erase_if(file->second.waiters,
                [&](const Waiter& waiter) { return waiter.want.owner == owner; });
  (void)Apply(file->second, Held{.owner = owner, .end = kLockEof}, LOCK_UNLOCK);
  Grant(key);
  for (uint64_t session : sessions) Tidy(key, session);
}

void LockTable::Tidy(LockFile key, uint64_t session) {
  auto file = files_.find(key);
  auto found = sessions_.find(session);
  const bool present =
      file != files_.end() &&
      (std::any_of(file->second.held.begin(), file->second.held.end(),
                   [&](const Held& held) { return held.session == session; }) ||
       std::any_of(file->second.waiters.begin(), file->second.waiters.end(),
                   [&](const Waiter& waiter) { return waiter.want.session == session; }));
  if (!present && found != sessions_.end()) found->second.files.erase(key);
  if (file != files_.end() && file->second.held.empty() && file->second.waiters.empty()) {
    files_.erase(file);
  }
}

void LockTable::Answer(uint64_t session, uint64_t id, int error) {
  auto found = sessions_.find(session);
  if (found == sessions_.end()) return;
  LockResponse response;
  response.set_error(error);
  response.set_id(id);
  found->second.outbox->Push(std::move(response));
}

size_t LockTable::held() const {
  absl::MutexLock lock(&mutex_);
  size_t count = 0;
  for (const auto& [key, file] : files_) count += file.held.size();
  return count;
}

size_t LockTable::waiting() const {
  absl::MutexLock lock(&mutex_);
  size_t count = 0;
  for (const auto& [key, file] : files_) count += file.waiters.size();
  return count;
}

}  // namespace syslink::examples::fs
