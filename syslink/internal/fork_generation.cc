#include "syslink/internal/fork_generation.h"

#include <pthread.h>

#include <atomic>

namespace syslink::internal {
namespace {

std::atomic<uint64_t> generation{0};

void InChild() { generation.fetch_add(1, std::memory_order_relaxed); }

bool RegisterHandler() {
  pthread_atfork(nullptr, nullptr, &InChild);
  return true;
}

}  // namespace

uint64_t ForkGeneration() {
  static const bool registered = RegisterHandler();
  (void)registered;
  return generation.load(std::memory_order_relaxed);
}

}  // namespace syslink::internal
