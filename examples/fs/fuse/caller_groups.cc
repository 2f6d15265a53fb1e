#include "examples/fs/fuse/caller_groups.h"

namespace syslink::examples::fs {

std::vector<gid_t> CallerGroups::Get(pid_t pid, uid_t uid, gid_t gid, const Reader& read,
                                     absl::Time now) {
  {
    absl::MutexLock lock(&mutex_);
    auto found = entries_.find(pid);
    if (found != entries_.end() && found->second.uid == uid && found->second.gid == gid &&
        now - found->second.read_at < ttl_) {
      return found->second.groups;
    }
  }
  std::vector<gid_t> groups;
  if (!read(&groups)) return {};
  absl::MutexLock lock(&mutex_);
  if (entries_.size() >= max_entries_) entries_.clear();  // processes come and go: start over
  entries_[pid] = Entry{uid, gid, now, groups};
  return groups;
}

size_t CallerGroups::size() const {
  absl::MutexLock lock(&mutex_);
  return entries_.size();
}

}  // namespace syslink::examples::fs
