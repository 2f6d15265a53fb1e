#include "syslink/broker/internal/descriptor_closer.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/fd_passing.h"
#include "base/untrusted_descriptors.h"

namespace syslink::broker::internal {

struct CloserState {
  struct Item {
    UniqueFd fd;
    bool drain;  // a connection socket to receive from before closing it
  };

  absl::Mutex mutex;
  std::deque<Item> queue ABSL_GUARDED_BY(mutex);
  bool started ABSL_GUARDED_BY(mutex) = false;
  bool stopping ABSL_GUARDED_BY(mutex) = false;
  // Counters for closed() and waiting(): atomic, so reading them never waits for the lock.
  std::atomic<uint64_t> closed{0};
  std::atomic<uint64_t> waiting{0};
};

namespace {

// On the closer's thread: a socket loses its linger first; then the close may wait.
void CloseHere(UniqueFd fd) {
  if (FileTypeWithoutBlocking(fd.get()) == S_IFSOCK) ClearLinger(fd.get());
  fd.Reset();
}

// On the closer's thread: takes every message still queued on `socket` (shut down, so the
// queue only shrinks), disposes of the descriptors they carry, and closes it.
void DrainHere(UniqueFd socket) {
  static thread_local std::vector<std::byte> buffer(64 * 1024);
  while (true) {
    absl::StatusOr<ReceivedMessage> received =
        ReceiveWithDescriptors(socket.get(), buffer, MSG_DONTWAIT);
    if (!received.ok()) break;
    bool got_any = received->bytes > 0 || !received->fds.empty();
    for (UniqueFd& fd : received->fds) CloseHere(std::move(fd));
    if (got_any) continue;
    NextMessage next = PeekNextMessage(socket.get());
    if (next == NextMessage::kEnd || next == NextMessage::kNothingYet) break;
  }
  socket.Reset();
}

void Serve(std::shared_ptr<CloserState> state) {
  while (true) {
    CloserState::Item item;
    {
      absl::MutexLock lock(&state->mutex);
      state->mutex.Await(absl::Condition(
          +[](CloserState* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mutex) { return s->stopping || !s->queue.empty(); },
          state.get()));
      if (state->queue.empty()) return;  // stopping, and nothing left
      item = std::move(state->queue.front());
      state->queue.pop_front();
    }
    if (item.drain) {
      DrainHere(std::move(item.fd));
    } else {
      CloseHere(std::move(item.fd));
    }
    state->closed.fetch_add(1, std::memory_order_relaxed);
    state->waiting.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace

DescriptorCloser::DescriptorCloser() : state_(std::make_shared<CloserState>()) {}

DescriptorCloser::~DescriptorCloser() {
  absl::MutexLock lock(&state_->mutex);
  state_->stopping = true;
}

void DescriptorCloser::Enqueue(UniqueFd fd, bool drain) {
  state_->waiting.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&state_->mutex);
  state_->queue.push_back({std::move(fd), drain});
  if (!state_->started) {
    // Started on first use: with a kernel that refuses descriptors it is seldom needed.
    state_->started = true;
    std::thread(Serve, state_).detach();
  }
}

bool DescriptorCloser::CloseConnection(UniqueFd socket, bool kernel_refuses_descriptors) {
  // The peer can queue nothing more once both directions are shut. What it queued before is
  // dropped first: a socket closed with messages unread resets the connection, and the peer
  // would see ECONNRESET instead of a last answer the broker sent it.
  shutdown(socket.get(), SHUT_RDWR);
  if (kernel_refuses_descriptors) {
    char byte;
    while (recv(socket.get(), &byte, sizeof(byte), MSG_DONTWAIT | MSG_TRUNC) > 0) {
    }
  } else {
    while (true) {
      NextMessage next = PeekNextMessage(socket.get());
      if (next == NextMessage::kEnd || next == NextMessage::kNothingYet) break;
      if (next == NextMessage::kWithDescriptors) {
        Enqueue(std::move(socket), /*drain=*/true);
        return true;
      }
      DiscardNextMessage(socket.get());
    }
  }
  socket.Reset();  // nothing queued that holds a descriptor: this cannot block
  return false;
}

void DescriptorCloser::Dispose(std::vector<UniqueFd> fds) {
  for (UniqueFd& fd : fds) {
    if (FileTypeWithoutBlocking(fd.get()) == S_IFSOCK && ClearLinger(fd.get())) {
      // A socket has no flush, and with linger off its release does not wait.
      fd.Reset();
    } else {
      Enqueue(std::move(fd), /*drain=*/false);
    }
  }
}

uint64_t DescriptorCloser::closed() const { return state_->closed.load(std::memory_order_relaxed); }

uint64_t DescriptorCloser::waiting() const {
  return state_->waiting.load(std::memory_order_relaxed);
}

}  // namespace syslink::broker::internal
