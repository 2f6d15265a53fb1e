#include "syslink/internal/fork_generation.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace syslink::internal {
namespace {

using fork_internal::generation;
std::mutex registry_mutex;
std::vector<int>* registry = new std::vector<int>;  // never destroyed: used at exit too

// Held across fork() so the child sees a consistent registry.
void BeforeFork() { registry_mutex.lock(); }
void InParent() { registry_mutex.unlock(); }
void InChild() {
  for (int fd : *registry) close(fd);
  registry->clear();
  generation.fetch_add(1, std::memory_order_relaxed);
  registry_mutex.unlock();
}

void RegisterHandlers() {
  static const bool registered = [] {
    pthread_atfork(&BeforeFork, &InParent, &InChild);
    return true;
  }();
  (void)registered;
}

}  // namespace

uint64_t ForkGeneration() {
  RegisterHandlers();
  return generation.load(std::memory_order_relaxed);
}

void CloseInForkedChildren(int fd) {
  if (fd < 0) return;
  RegisterHandlers();
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry->push_back(fd);
}

void KeepInForkedChildren(int fd) {
  if (fd < 0) return;
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = std::find(registry->begin(), registry->end(), fd);
  if (it != registry->end()) registry->erase(it);
}

}  // namespace syslink::internal
