#include "rpc/context.h"

#include <unistd.h>

#include <cstdint>

namespace syslink::rpc {
namespace {

class SpinGuard {
 public:
  explicit SpinGuard(std::atomic_flag& flag) : flag_(flag) {
    while (flag_.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~SpinGuard() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag& flag_;
};

}  // namespace

void ClientContext::TryCancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  std::shared_ptr<const UniqueFd> waker;
  {
    SpinGuard guard(waker_lock_);
    waker = waker_;
  }
  if (waker == nullptr) return;
  const uint64_t one = 1;
  if (write(waker->get(), &one, sizeof(one)) < 0) {
    // Cannot fail but for a full counter, which wakes the reader all the same.
  }
}

void ClientContext::set_cancel_waker(const std::shared_ptr<const UniqueFd>& waker) {
  SpinGuard guard(waker_lock_);
  if (waker_ != waker) waker_ = waker;
}

void ServerContext::OnCancel(std::function<void()> hook) {
  {
    SpinGuard guard(cancel_lock_);
    if (!hook || !cancelled()) {
      on_cancel_ = std::move(hook);
      return;
    }
    on_cancel_ = nullptr;
  }
  hook();  // cancelled already
}

void ServerContext::MarkCancelled() {
  // The hook runs under the lock: OnCancel() returns only once a run of it has finished.
  SpinGuard guard(cancel_lock_);
  cancelled_.store(true, std::memory_order_relaxed);
  if (on_cancel_) std::exchange(on_cancel_, nullptr)();
}

}  // namespace syslink::rpc
