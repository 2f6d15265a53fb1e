// WorkerPool: a fixed set of threads running submitted jobs in order of submission.
//
// Thread safety: Submit() from any thread. Ownership: destruction finishes the jobs
// already queued, then joins the threads.

#ifndef SYSLINK_RPC_INTERNAL_WORKER_POOL_H_
#define SYSLINK_RPC_INTERNAL_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace syslink::rpc::internal {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();

  void Submit(std::function<void()> job);

 private:
  void Work();

  absl::Mutex mutex_;
  absl::CondVar ready_;  // a job was queued, or stopping_ was set
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Filled by the constructor and joined by the destructor, both on the owner's thread.
  std::vector<std::thread> threads_;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_WORKER_POOL_H_
