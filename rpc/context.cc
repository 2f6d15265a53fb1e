#include "rpc/context.h"

#include <unistd.h>

#include <cstdint>

#include "rpc/internal/server_context_access.h"

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
  {
    absl::MutexLock lock(&callee_mutex_);
    if (in_process_callee_ != nullptr) {
      internal::ServerContextAccess::MarkCancelled(*in_process_callee_);
    }
  }
  if (waker == nullptr) return;
  const uint64_t one = 1;
  if (write(waker->get(), &one, sizeof(one)) < 0) {
    // Cannot fail but for a full counter, which wakes the reader all the same.
  }
}

void ClientContext::set_in_process_callee(ServerContext* callee) {
  absl::MutexLock lock(&callee_mutex_);
  in_process_callee_ = callee;
}

void ClientContext::set_cancel_waker(const std::shared_ptr<const UniqueFd>& waker) {
  SpinGuard guard(waker_lock_);
  if (waker_ != waker) waker_ = waker;
}

void ServerContext::OnCancel(std::function<void()> hook) {
  CancelHook* state = cancel_hook_.load(std::memory_order_acquire);
  if (state == nullptr) {
    if (!hook) return;
    state = new CancelHook;
    // Published before the flag is read below, as MarkCancelled() sets the flag before it
    // reads this: one of the two sees the other's store.
    cancel_hook_.store(state, std::memory_order_seq_cst);
  }
  std::function<void()> replaced;  // destroyed with the lock let go
  {
    absl::MutexLock lock(&state->mutex);
    replaced = std::move(state->run);
    state->run = nullptr;
    if (!hook || !(cancelled_.load(std::memory_order_seq_cst) || cancelled())) {
      state->run = std::move(hook);
      return;
    }
  }
  hook();  // cancelled already
}

void ServerContext::MarkCancelled() {
  cancelled_.store(true, std::memory_order_seq_cst);
  CancelHook* state = cancel_hook_.load(std::memory_order_seq_cst);
  if (state == nullptr) return;  // no hook yet: OnCancel() will see the flag
  // The hook runs under the lock: OnCancel() returns only once a run of it has finished.
  absl::MutexLock lock(&state->mutex);
  if (state->run) std::exchange(state->run, nullptr)();
}

}  // namespace syslink::rpc
