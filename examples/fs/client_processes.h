// ClientProcesses: which client process holds which of a file server's open handles and
// lookups, so that what a process still holds when it ends is given back, as Release,
// ReleaseDir and Forget would. Both servers use it: each of the passthrough's handles and
// lookups is a host descriptor out of its one RLIMIT_NOFILE; memfs's keep an unlinked
// file, and its memory, alive.
//
//   ClientProcesses clients([&](ClientProcesses::Holdings left) { GiveBack(left); });
//   const uint64_t client = clients.Join(context.peer());   // a record, kNotFollowed, kEnded
//   uint64_t fh = handles.Add(...);
//   if (!clients.AddHandle(client, fh, ino, /*dir=*/false)) GiveBackNow(fh);   // it has ended
//   ...
//   clients.RemoveHandle(client, fh);                          // Release
//   inodes.Forget(ino, clients.Forget(client, ino, nlookup));  // Forget
//
// Handles and lookups belong to the client's process, not to a link: a process may use
// them from any of its links (fs_mount's pool; a gateway that closes idle links and opens
// others), and may end a link while it goes on using them through another. The process is
// the one the broker attested for the link (rpc::PeerIdentity::pid), followed through a
// pidfd opened on its first call, which names that process and no later one with its pid.
// When it ends (exits, is killed), a thread of this class calls `ended` with what it
// still held, once. A process that closes all its links and lives on keeps what it holds
// until it ends; so does its record, and the pidfd in it, even when it holds nothing.
//
// Not followed (Join answers kNotFollowed; what such a caller holds is its own, lives until
// released, or the server exits, and its Forget forgets all it asks): a caller with no pid
// (an InProcessChannel, a link not made by the broker), a remote caller, a pid the server
// cannot open a pidfd for that it never followed (gone before its first call, or of another
// pid namespace), or one whose process has another effective uid than the one attested
// (the uid SO_PEERCRED gives; the server does not share the broker's pid namespace, or the
// process changed user): the pid may name another process, whose end must not take the
// client's handles.
//
// Ended (Join answers kEnded): a caller whose followed process has ended, as the server
// knows when it cannot open a pidfd for the pid of a process it followed (the process is
// gone), or the pid names a process of another uid now. What that process held was given
// back (or is being given back) by `ended`: AddHandle and AddLookup answer false, and
// Forget forgets nothing, so no lookup is given back twice (a server counts lookups per
// inode, for all its clients: a second give-back would take another client's). To know
// it, the class keeps the pids of the followed processes that ended, until a process with
// the pid is followed again: at most one entry per pid (/proc/sys/kernel/pid_max).
//
// Races. A call still in flight from a process that ended meanwhile may add to its record
// after `ended` ran: AddHandle and AddLookup then answer false and the caller gives the
// handle or lookup back at once; Forget takes nothing off a record that ended. A call
// from a process that ended before its pidfd was opened (it was never followed), whose
// pid a new process of the same uid already has, is followed as that new process: what it
// holds then lives until that process ends (never less long), and its Forget forgets only
// what that new record holds. A lookup made while its process was not followed, and
// forgotten once it is, stays (never less long).
//
// Thread safety: thread-safe; one lock guards the records, never held across a system
// call or `ended`. `ended` runs on the class's thread, never after the destructor
// returned. Ownership: owns its thread, its epoll and eventfd descriptors and the pidfds;
// `ended` and what it uses must outlive the object.

#ifndef SYSLINK_EXAMPLES_FS_CLIENT_PROCESSES_H_
#define SYSLINK_EXAMPLES_FS_CLIENT_PROCESSES_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "base/unique_fd.h"
#include "rpc/context.h"

namespace syslink::examples::fs {

class ClientProcesses {
 public:
  struct HeldHandle {
    uint64_t fh = 0;
    uint64_t ino = 0;
    bool dir = false;
  };
  // What an ended process still held: its handles, and its lookups per inode.
  struct Holdings {
    std::vector<HeldHandle> handles;
    absl::flat_hash_map<uint64_t, uint64_t> lookups;
  };

  // Starts the thread that waits for followed processes to end.
  explicit ClientProcesses(std::function<void(Holdings)> ended);
  // Stops following: `ended` runs no more once this returns (a run under way finishes).
  ~ClientProcesses();
  ClientProcesses(const ClientProcesses&) = delete;
  ClientProcesses& operator=(const ClientProcesses&) = delete;

  // Join's answers other than a record's number (records count up from 1).
  static constexpr uint64_t kNotFollowed = 0;
  static constexpr uint64_t kEnded = ~uint64_t{0};

  // The record of the process `peer` names, made on its first call; kNotFollowed or kEnded
  // (see above).
  [[nodiscard]] uint64_t Join(const rpc::PeerIdentity& peer);

  // Note what `client` (Join's answer) holds: nothing for kNotFollowed. AddHandle and
  // AddLookup answer false when the process has ended (kEnded, or meanwhile): the caller
  // gives the handle or lookup back.
  [[nodiscard]] bool AddHandle(uint64_t client, uint64_t fh, uint64_t ino, bool dir);
  void RemoveHandle(uint64_t client, uint64_t fh);
  [[nodiscard]] bool AddLookup(uint64_t client, uint64_t ino);
  // Takes up to `nlookup` of `ino`'s lookups off the record, and answers how many of them
  // the caller forgets in its own table: those it took; `nlookup` for kNotFollowed (the
  // caller's own); 0 for kEnded, or a record that ended (`ended` gives its lookups back).
  [[nodiscard]] uint64_t Forget(uint64_t client, uint64_t ino, uint64_t nlookup);

  // Processes followed now, and ended ones whose holdings `ended` has not finished giving
  // back: for tests, to know that it has.
  size_t size() const;

 private:
  struct Record {
    pid_t pid = 0;
    std::shared_ptr<const UniqueFd> pidfd;
    bool ended = false;  // its process ended: what it held is being given back
    absl::flat_hash_map<uint64_t, HeldHandle> handles;
    absl::flat_hash_map<uint64_t, uint64_t> lookups;
  };

  // Waits for pidfds to turn readable (their process ended) and for stop_.
  void Watch();
  // Drops record `client` and gives what it held to ended_.
  void End(uint64_t client);

  const std::function<void(Holdings)> ended_;
  UniqueFd epoll_;  // pidfds (data: the record's number) and stop_ (data: 0)
  UniqueFd stop_;   // an eventfd, readable once the destructor began
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<uint64_t, Record> records_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<pid_t, uint64_t> by_pid_ ABSL_GUARDED_BY(mutex_);
  // Pids of followed processes that ended, none of them in by_pid_.
  absl::flat_hash_set<pid_t> ended_pids_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_client_ ABSL_GUARDED_BY(mutex_) = 1;
  std::thread watcher_;  // last: started once everything above is set
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_CLIENT_PROCESSES_H_
