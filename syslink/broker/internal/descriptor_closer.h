// DescriptorCloser: closes, off the broker's thread, what a peer could make that thread
// wait on.
//
//   DescriptorCloser closer;
//   closer.CloseConnection(std::move(socket), kernel_refuses_descriptors);
//   closer.Dispose(std::move(fds));   // descriptors that arrived although none are taken
//
// The broker serves every user from one thread, so no system call there may block on
// something a client controls. Closing a descriptor a client made can: a TCP socket with
// SO_LINGER and a full send buffer waits out its linger time; a FUSE file's flush waits for
// its FUSE server; a FIFO's release waits for its lock. Descriptors reach the broker only
// in a hostile packet (the broker never takes any), and on Linux 6.16 and later the kernel
// refuses them outright (SO_PASSRIGHTS, untrusted_descriptors.h). On older kernels:
//
// - A connection is never closed with a descriptor-carrying message still queued on it:
//   that would release the descriptors on this thread. CloseConnection() shuts it down,
//   drops plain messages still queued (looked at with MSG_PEEK, which installs nothing),
//   and closes it at once if nothing else is left; otherwise the closer's thread drains it
//   (installing the descriptors there) and disposes of each.
// - Dispose() closes a socket at once with SO_LINGER turned off (classified by statx with
//   AT_STATX_DONT_SYNC, which never asks a FUSE server); anything else goes to the
//   closer's thread.
//
// What bounds the closer's queue: its thread runs one close at a time, and a close that
// never returns (a FUSE server that never answers FLUSH) stops it. Items then wait: every
// queued connection still holds its messages' descriptors in flight, which the kernel
// charges to the sender (a user has at most RLIMIT_NOFILE descriptors in flight), so a user
// can make only that many wait. Descriptors already received (Dispose(), reached only if
// the kernel passes descriptors the broker did not see coming) are few per packet, and
// each such packet closes its connection.
//
// Thread safety: every method may be called from any thread. Ownership: the closer owns
// what it is given. Its thread is detached: destroying the closer lets it finish the queue
// and exit, or leaves it to die with the process if a close never returns.

#ifndef SYSLINK_SYSLINK_BROKER_INTERNAL_DESCRIPTOR_CLOSER_H_
#define SYSLINK_SYSLINK_BROKER_INTERNAL_DESCRIPTOR_CLOSER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "base/unique_fd.h"

namespace syslink::broker::internal {

struct CloserState;  // the queue the closer's thread serves

class DescriptorCloser {
 public:
  DescriptorCloser();
  DescriptorCloser(const DescriptorCloser&) = delete;
  DescriptorCloser& operator=(const DescriptorCloser&) = delete;
  ~DescriptorCloser();

  // Closes a connection socket, dropping what its peer queued (so that the peer reads what
  // was sent to it last, rather than a reset). `kernel_refuses_descriptors`: it was
  // accepted from a listener with SO_PASSRIGHTS off, so nothing queued on it can carry a
  // descriptor. Without that, the socket must carry SO_PASSCRED labels
  // (LabelEveryMessage) for the peek to see empty messages. Returns whether the socket went
  // to the closer's thread.
  bool CloseConnection(UniqueFd socket, bool kernel_refuses_descriptors);

  // Disposes of descriptors a peer passed.
  void Dispose(std::vector<UniqueFd> fds);

  // Descriptors and connections the closer's thread has closed so far.
  uint64_t closed() const;
  // Items waiting for, or being handled by, the closer's thread.
  uint64_t waiting() const;

 private:
  void Enqueue(UniqueFd fd, bool drain);

  std::shared_ptr<CloserState> state_;
};

}  // namespace syslink::broker::internal

#endif  // SYSLINK_SYSLINK_BROKER_INTERNAL_DESCRIPTOR_CLOSER_H_
