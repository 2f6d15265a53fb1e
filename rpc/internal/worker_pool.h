// WorkerPool: a fixed set of threads running submitted jobs in order of submission.
//
// Thread safety: Submit() from any thread. Ownership: destruction finishes the jobs
// already queued, then joins the threads.

#ifndef SYSLINK_RPC_INTERNAL_WORKER_POOL_H_
#define SYSLINK_RPC_INTERNAL_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace syslink::rpc::internal {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();

  void Submit(std::function<void()> job);

 private:
  void Work();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_WORKER_POOL_H_
