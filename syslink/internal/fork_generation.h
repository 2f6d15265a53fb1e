// What fork() must do for link ends: tell an inherited end it is not in its own process,
// and close, in the child, the descriptors of the ends the parent owns.
//
// ForkGeneration() changes in every child a process creates with fork(). An end records
// the generation of the process that owns it and compares it on each call: a cheap load
// instead of getpid(), which is a system call.
//
// CloseInForkedChildren(fd) registers a descriptor that a child must not keep: the socket
// (and watch socket) of an end this process owns. If a child kept the parent's end socket
// open, the peer would not see it close when the parent dies. The child handler closes
// every registered descriptor (close() is all a child handler may safely do, see
// pthread_atfork(3)); an end's code in the child then never closes those numbers again.
// KeepInForkedChildren(fd) unregisters one, before its owner closes it or hands it over.
//
// The handlers are registered with pthread_atfork() on first use, so they cover fork()
// (and posix_spawn or system(), which never use an end), not a raw clone().
//
// Thread safety: any thread.

#ifndef SYSLINK_SYSLINK_INTERNAL_FORK_GENERATION_H_
#define SYSLINK_SYSLINK_INTERNAL_FORK_GENERATION_H_

#include <atomic>
#include <cstdint>

namespace syslink::internal {

namespace fork_internal {
inline std::atomic<uint64_t> generation{0};
}  // namespace fork_internal

// The current generation; registers the fork handlers on first use.
uint64_t ForkGeneration();

// The same as an inline load, for the hot path of a caller that called ForkGeneration()
// (and so registered the handlers) before.
inline uint64_t RegisteredForkGeneration() {
  return fork_internal::generation.load(std::memory_order_relaxed);
}

void CloseInForkedChildren(int fd);
void KeepInForkedChildren(int fd);

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_FORK_GENERATION_H_
