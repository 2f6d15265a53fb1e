// ForkGeneration(): a number that changes in every child a process creates with fork().
//
// An end records the generation of the process that owns it and compares it on each call:
// a cheap load instead of getpid(), which is a system call. The counter is bumped by a
// pthread_atfork() child handler registered on first use, so it covers fork() (and
// posix_spawn / system, which never use an end), not a raw clone().
//
// Thread safety: any thread.

#ifndef SYSLINK_SYSLINK_INTERNAL_FORK_GENERATION_H_
#define SYSLINK_SYSLINK_INTERNAL_FORK_GENERATION_H_

#include <cstdint>

namespace syslink::internal {

uint64_t ForkGeneration();

}  // namespace syslink::internal

#endif  // SYSLINK_SYSLINK_INTERNAL_FORK_GENERATION_H_
