// TaskPool: a fixed number of threads running queued tasks in order of arrival.
//
//   TaskPool pool(8);
//   pool.Submit([] { Answer(call); });
//   pool.Stop();   // runs what is queued, then joins
//
// Thread safety: Submit() from any thread. Ownership: Stop() (or destruction) waits for
// every task submitted before it; a task submitted after Stop() runs on the caller's
// thread.

#ifndef SYSLINK_RPC_GRPC_INTERNAL_TASK_POOL_H_
#define SYSLINK_RPC_GRPC_INTERNAL_TASK_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace syslink::rpc::grpc_internal {

class TaskPool {
 public:
  explicit TaskPool(int threads);
  ~TaskPool() { Stop(); }
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void Submit(std::function<void()> task);
  void Stop();

 private:
  void Work();

  absl::Mutex mutex_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Started by the constructor; joined and cleared by Stop() on the owner's thread, after
  // stopping_ is set, so the workers never touch it: it needs no lock.
  std::vector<std::thread> threads_;
};

}  // namespace syslink::rpc::grpc_internal

#endif  // SYSLINK_RPC_GRPC_INTERNAL_TASK_POOL_H_
