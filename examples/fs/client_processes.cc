#include "examples/fs/client_processes.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace syslink::examples::fs {
namespace {

// Whether the process `pidfd` names has ended: its pidfd turns readable then.
bool HasEnded(const UniqueFd& pidfd) {
  struct pollfd ready = {.fd = pidfd.get(), .events = POLLIN, .revents = 0};
  return poll(&ready, 1, 0) != 0;
}

// Whether process `pid`'s effective uid (/proc/PID/status) is `uid`: the one SO_PEERCRED
// gives the broker, which attests it.
bool EffectiveUidIs(pid_t pid, uid_t uid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (!absl::StartsWith(line, "Uid:")) continue;
    std::vector<absl::string_view> ids = absl::StrSplit(absl::string_view(line).substr(4),
                                                        absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint32_t effective = 0;  // "Uid:" lists the real, effective, saved and filesystem uids
    return ids.size() >= 2 && absl::SimpleAtoi(ids[1], &effective) && effective == uid;
  }
  return false;
}

}  // namespace

ClientProcesses::ClientProcesses(std::function<void(Holdings)> ended)
    : ended_(std::move(ended)),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (epoll_.valid() && stop_.valid()) {
    epoll_event event = {.events = EPOLLIN, .data = {.u64 = 0}};
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stop_.get(), &event) != 0) epoll_.Reset();
  }
  if (epoll_.valid() && stop_.valid()) watcher_ = std::thread([this] { Watch(); });
}

ClientProcesses::~ClientProcesses() {
  if (!watcher_.joinable()) return;
  const uint64_t one = 1;
  (void)!write(stop_.get(), &one, sizeof(one));
  watcher_.join();
}

uint64_t ClientProcesses::Join(const rpc::PeerIdentity& peer) {
  if (!watcher_.joinable() || peer.pid <= 0 || peer.uid == rpc::kNoUid) return kNotFollowed;
  std::shared_ptr<const UniqueFd> known;
  uint64_t client = kNotFollowed;
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = by_pid_.find(peer.pid); it != by_pid_.end()) {
      client = it->second;
      known = records_.at(client).pidfd;
    }
  }
  if (known != nullptr && !HasEnded(*known)) return client;
  // A process not seen yet, or one with the pid of a process that ended (whose record the
  // watcher is giving back, or gave back).
  auto pidfd =
      std::make_shared<const UniqueFd>(static_cast<int>(syscall(SYS_pidfd_open, peer.pid, 0)));
  if (!pidfd->valid() || !EffectiveUidIs(peer.pid, peer.uid)) {
    // The pid names no process now, or another user's: if the server followed a process
    // with it, the caller is that process, which has ended.
    absl::MutexLock lock(&mutex_);
    return known != nullptr || ended_pids_.contains(peer.pid) ? kEnded : kNotFollowed;
  }
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = by_pid_.find(peer.pid);
        it != by_pid_.end() && records_.at(it->second).pidfd != known) {
      return it->second;  // another call of the process made its record meanwhile
    }
    client = next_client_++;
    records_[client] = Record{.pid = peer.pid, .pidfd = pidfd};
    by_pid_[peer.pid] = client;
    ended_pids_.erase(peer.pid);
  }
  epoll_event event = {.events = EPOLLIN, .data = {.u64 = client}};
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd->get(), &event) != 0) {
    End(client);  // never seen to end: not followed, and not known to have ended
    absl::MutexLock lock(&mutex_);
    if (!by_pid_.contains(peer.pid)) ended_pids_.erase(peer.pid);
    return kNotFollowed;
  }
  return client;
}

bool ClientProcesses::AddHandle(uint64_t client, uint64_t fh, uint64_t ino, bool dir) {
  if (client == kNotFollowed) return true;
  absl::MutexLock lock(&mutex_);
  auto it = records_.find(client);
  if (it == records_.end() || it->second.ended) return false;
  it->second.handles[fh] = {.fh = fh, .ino = ino, .dir = dir};
  return true;
}

void ClientProcesses::RemoveHandle(uint64_t client, uint64_t fh) {
  if (client == kNotFollowed) return;
  absl::MutexLock lock(&mutex_);
  if (auto it = records_.find(client); it != records_.end()) it->second.handles.erase(fh);
}

bool ClientProcesses::AddLookup(uint64_t client, uint64_t ino) {
  if (client == kNotFollowed) return true;
  absl::MutexLock lock(&mutex_);
  auto it = records_.find(client);
  if (it == records_.end() || it->second.ended) return false;
  ++it->second.lookups[ino];
  return true;
}

uint64_t ClientProcesses::Forget(uint64_t client, uint64_t ino, uint64_t nlookup) {
  if (client == kNotFollowed) return nlookup;
  absl::MutexLock lock(&mutex_);
  auto it = records_.find(client);  // none for kEnded, or a record given back
  if (it == records_.end() || it->second.ended) return 0;
  auto held = it->second.lookups.find(ino);
  if (held == it->second.lookups.end()) return 0;
  const uint64_t taken = std::min(held->second, nlookup);
  held->second -= taken;
  if (held->second == 0) it->second.lookups.erase(held);
  return taken;
}

size_t ClientProcesses::size() const {
  absl::MutexLock lock(&mutex_);
  return records_.size();
}

void ClientProcesses::Watch() {
  epoll_event events[16];
  while (true) {
    const int ready = epoll_wait(epoll_.get(), events, 16, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.u64 == 0) return;  // stop_: the destructor waits
      End(events[i].data.u64);
    }
  }
}

void ClientProcesses::End(uint64_t client) {
  Holdings left;
  std::shared_ptr<const UniqueFd> pidfd;
  {
    absl::MutexLock lock(&mutex_);
    auto it = records_.find(client);
    if (it == records_.end() || it->second.ended) return;
    Record& record = it->second;
    record.ended = true;  // takes nothing more
    pidfd = record.pidfd;
    for (const auto& [fh, held] : record.handles) left.handles.push_back(held);
    record.handles.clear();
    left.lookups = std::move(record.lookups);
    record.lookups.clear();
    if (auto mine = by_pid_.find(record.pid); mine != by_pid_.end() && mine->second == client) {
      by_pid_.erase(mine);  // a later process with its pid is another
      ended_pids_.insert(record.pid);
    }
  }
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pidfd->get(), nullptr);
  if (!left.handles.empty() || !left.lookups.empty()) ended_(std::move(left));
  absl::MutexLock lock(&mutex_);
  records_.erase(client);  // counted by size() until given back
}

}  // namespace syslink::examples::fs
