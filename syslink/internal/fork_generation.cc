#include "syslink/internal/fork_generation.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace syslink::internal {
namespace {

using fork_internal::generation;  // atomic: read on every call, without the lock
ABSL_CONST_INIT absl::Mutex registry_mutex(absl::kConstInit);
// The pointer never changes; the vector is never destroyed: it is used at exit too.
std::vector<int>* const registry ABSL_PT_GUARDED_BY(registry_mutex) = new std::vector<int>;

// Held across fork() so the child sees a consistent registry.
void BeforeFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(registry_mutex) { registry_mutex.Lock(); }
void InParent() ABSL_UNLOCK_FUNCTION(registry_mutex) { registry_mutex.Unlock(); }
void InChild() ABSL_UNLOCK_FUNCTION(registry_mutex) {
  for (int fd : *registry) close(fd);
  registry->clear();
  generation.fetch_add(1, std::memory_order_relaxed);
  registry_mutex.Unlock();
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
  absl::MutexLock lock(&registry_mutex);
  registry->push_back(fd);
}

void KeepInForkedChildren(int fd) {
  if (fd < 0) return;
  absl::MutexLock lock(&registry_mutex);
  auto it = std::find(registry->begin(), registry->end(), fd);
  if (it != registry->end()) registry->erase(it);
}

}  // namespace syslink::internal
