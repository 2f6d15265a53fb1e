// CpuRelax(): the body of a spin-wait loop.
//
// On x86 it is PAUSE, which tells the core it is spinning: it saves power, yields the
// pipeline to a sibling hyperthread and avoids the memory-order mis-speculation penalty
// when the awaited cache line finally changes.

#ifndef SYSLINK_RING_INTERNAL_CPU_RELAX_H_
#define SYSLINK_RING_INTERNAL_CPU_RELAX_H_

namespace syslink::ring::internal {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace syslink::ring::internal

#endif  // SYSLINK_RING_INTERNAL_CPU_RELAX_H_
