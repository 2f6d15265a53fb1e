#include "rpc/internal/worker_pool.h"

namespace syslink::rpc::internal {

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  ready_.SignalAll();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::Submit(std::function<void()> job) {
  {
    absl::MutexLock lock(&mutex_);
    jobs_.push_back(std::move(job));
  }
  ready_.Signal();
}

void WorkerPool::Work() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mutex_);
      while (!stopping_ && jobs_.empty()) ready_.Wait(&mutex_);
      if (jobs_.empty()) return;  // stopping, and nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace syslink::rpc::internal
