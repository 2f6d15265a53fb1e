#include "examples/fs/passthrough/client_processes.h"

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

// Whether process `pid`'s real uid (/proc/PID/status) is `uid`.
bool RealUidIs(pid_t pid, uid_t uid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (!absl::StartsWith(line, "Uid:")) continue;
    std::vector<absl::string_view> ids = absl::StrSplit(absl::string_view(line).substr(4),
                                                        absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint32_t real = 0;
    return !ids.empty() && absl::SimpleAtoi(ids[0], &real) && real == uid;
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
  if (!watcher_.joinable() || peer.pid <= 0 || peer.uid == rpc::kNoUid) return 0;
  std::shared_ptr<const UniqueFd> known;
  uint64_t client = 0;
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = by_pid_.find(peer.pid); it != by_pid_.end()) {
      client = it->second;
      known = records_.at(client).pidfd;
    }
  }
  if (known != nullptr && !HasEnded(*known)) return client;
  // A process not seen yet, or one with the pid of a process that ended (whose record the
  // watcher is giving back).
  auto pidfd =
      std::make_shared<const UniqueFd>(static_cast<int>(syscall(SYS_pidfd_open, peer.pid, 0)));
  if (!pidfd->valid() || !RealUidIs(peer.pid, peer.uid)) return 0;
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = by_pid_.find(peer.pid);
        it != by_pid_.end() && records_.at(it->second).pidfd != known) {
      return it->second;  // another call of the process made its record meanwhile
    }
    client = next_client_++;
    records_[client] = Record{.pid = peer.pid, .pidfd = pidfd};
    by_pid_[peer.pid] = client;
  }
  epoll_event event = {.events = EPOLLIN, .data = {.u64 = client}};
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd->get(), &event) != 0) {
    End(client);  // never seen to end: not followed
    return 0;
  }
  return client;
}

bool ClientProcesses::AddHandle(uint64_t client, uint64_t fh, uint64_t ino, bool dir) {
  if (client == 0) return true;
  absl::MutexLock lock(&mutex_);
  auto it = records_.find(client);
  if (it == records_.end() || it->second.ended) return false;
  it->second.handles[fh] = {.fh = fh, .ino = ino, .dir = dir};
  return true;
}

void ClientProcesses::RemoveHandle(uint64_t client, uint64_t fh) {
  if (client == 0) return;
  absl::MutexLock lock(&mutex_);
  if (auto it = records_.find(client); it != records_.end()) it->second.handles.erase(fh);
}

bool ClientProcesses::AddLookup(uint64_t client, uint64_t ino) {
  if (client == 0) return true;
  absl::MutexLock lock(&mutex_);
  auto it = records_.find(client);
  if (it == records_.end() || it->second.ended) return false;
  ++it->second.lookups[ino];
  return true;
}

void ClientProcesses::Forget(uint64_t client, uint64_t ino, uint64_t nlookup) {
  if (client == 0) return;
  absl::MutexLock lock(&mutex_);
  auto it = records_.find(client);
  if (it == records_.end()) return;
  auto held = it->second.lookups.find(ino);
  if (held == it->second.lookups.end()) return;
  held->second -= std::min(held->second, nlookup);
  if (held->second == 0) it->second.lookups.erase(held);
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
    }
  }
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pidfd->get(), nullptr);
  if (!left.handles.empty() || !left.lookups.empty()) ended_(std::move(left));
  absl::MutexLock lock(&mutex_);
  records_.erase(client);  // counted by size() until given back
}

}  // namespace syslink::examples::fs
