#include "examples/fs/fuse/upstream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/link_channel.h"
#include "syslink/status.h"

namespace syslink::examples::fs {

struct Upstream::Slot {
  std::unique_ptr<FsClient> client;  // over its own LinkChannel (or the epoch's GrpcChannel)
  rpc::Attachment write_buffer;      // a DMA buffer of that channel, once made
};

struct Upstream::Epoch {
  uint64_t number = 0;
  InitResponse init;
  std::vector<UniqueFd> watch_fds;  // duplicates of each link's socket, polled for hang-up
  // Guarded by Upstream::mutex_ (the analysis cannot name it from here); the fields above
  // are set before the epoch is shared and never change.
  std::vector<std::unique_ptr<Slot>> idle;
  bool ended = false;
};

namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Links, clients and the Init of one connection to the service.
struct Dialed {
  InitResponse init;
  std::vector<UniqueFd> watch_fds;
  std::vector<std::unique_ptr<FsClient>> clients;
};

// The clients of one connection over gRPC, sharing one channel.
absl::StatusOr<Dialed> DialGrpc(const UpstreamOptions& options) {
  rpc::GrpcChannelOptions channel_options;
  const rpc::TlsFiles& tls = options.grpc_tls;
  if (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        rpc::ChannelTlsCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    channel_options.credentials = *std::move(credentials);
  }
  auto channel = std::make_shared<rpc::GrpcChannel>(
      rpc::CreateGrpcChannel(options.grpc_target, channel_options));
  Dialed dialed;
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    dialed.clients.push_back(std::make_unique<FsClient>(channel));
  }
  absl::StatusOr<InitResponse> init = dialed.clients.front()->Init();
  if (!init.ok()) return init.status();
  dialed.init = *std::move(init);
  return dialed;
}

absl::StatusOr<Dialed> DialService(const UpstreamOptions& options) {
  if (!options.grpc_target.empty()) return DialGrpc(options);
  Dialed dialed;
  const int channels = std::max(1, options.channels);
  for (int i = 0; i < channels; ++i) {
    absl::StatusOr<Link> link = broker::ConnectToService(options.service_name, options.broker);
    if (!link.ok()) return link.status();
    UniqueFd watch(fcntl(link->fd(), F_DUPFD_CLOEXEC, 0));
    if (!watch.valid()) return ErrnoStatus("duplicating a link's socket");
    auto client = std::make_unique<FsClient>(std::make_shared<rpc::LinkChannel>(*std::move(link)));
    if (i == 0) {
      absl::StatusOr<InitResponse> init = client->Init();
      if (!init.ok()) return init.status();
      dialed.init = *std::move(init);
    }
    dialed.watch_fds.push_back(std::move(watch));
    dialed.clients.push_back(std::move(client));
  }
  return dialed;
}

}  // namespace

// --- Lease ---

Upstream::Lease::Lease(Upstream* owner, std::shared_ptr<Epoch> epoch, std::unique_ptr<Slot> slot)
    : owner_(owner), epoch_(std::move(epoch)), slot_(std::move(slot)) {}

Upstream::Lease::Lease(Lease&& other) noexcept
    : owner_(other.owner_), epoch_(std::move(other.epoch_)), slot_(std::move(other.slot_)) {}

Upstream::Lease::~Lease() {
  if (slot_ != nullptr) owner_->Release(std::move(epoch_), std::move(slot_));
}

FsClient& Upstream::Lease::client() { return *slot_->client; }
uint64_t Upstream::Lease::epoch() const { return epoch_->number; }
uint64_t Upstream::Lease::root_ino() const { return epoch_->init.root_ino(); }
const InitResponse& Upstream::Lease::limits() const { return epoch_->init; }

absl::StatusOr<rpc::Attachment> Upstream::Lease::TakeWriteBuffer() {
  rpc::Attachment buffer = std::move(slot_->write_buffer);
  if (buffer.is_dma()) {
    buffer.resize(buffer.dma().capacity());
    return buffer;
  }
  absl::StatusOr<rpc::Attachment> fresh = client().channel().AllocateAttachment(kMaxIoSize);
  if (!fresh.ok()) Note(fresh.status());
  return fresh;
}

void Upstream::Lease::ReturnWriteBuffer(rpc::Attachment buffer) {
  if (buffer.is_dma()) slot_->write_buffer = std::move(buffer);
}

void Upstream::Lease::Note(const absl::Status& status) {
  // Over gRPC, a server that went away is UNAVAILABLE (syslink's PEER_DIED mark does not
  // cross the network).
  const bool over_grpc = !owner_->options_.grpc_target.empty();
  if (IsPeerDied(status) || IsBadMessage(status) || (over_grpc && absl::IsUnavailable(status))) {
    owner_->EndEpoch(epoch_.get(), status);
  }
}

// --- Upstream ---

Upstream::Upstream(UpstreamOptions options)
    : options_(std::move(options)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

std::unique_ptr<Upstream> Upstream::Start(UpstreamOptions options) {
  std::unique_ptr<Upstream> upstream(new Upstream(std::move(options)));
  absl::StatusOr<std::shared_ptr<Epoch>> first = upstream->Dial(1);
  {
    absl::MutexLock lock(&upstream->mutex_);
    if (first.ok()) {
      upstream->current_ = *std::move(first);
      upstream->epochs_ = 1;
    } else {
      upstream->last_error_ = first.status();
    }
  }
  // The watcher takes no signals: a mount's signal handlers belong to its main thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  upstream->watcher_ = std::thread([raw = upstream.get()] { raw->Watch(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return upstream;
}

Upstream::~Upstream() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  Wake();
  if (watcher_.joinable()) watcher_.join();
  std::shared_ptr<Epoch> last;
  absl::MutexLock lock(&mutex_);
  last = std::move(current_);
}

absl::StatusOr<std::shared_ptr<Upstream::Epoch>> Upstream::Dial(uint64_t number) {
  absl::StatusOr<Dialed> dialed = DialService(options_);
  if (!dialed.ok()) return dialed.status();
  auto epoch = std::make_shared<Epoch>();
  epoch->number = number;
  epoch->init = std::move(dialed->init);
  epoch->watch_fds = std::move(dialed->watch_fds);
  for (std::unique_ptr<FsClient>& client : dialed->clients) {
    auto slot = std::make_unique<Slot>();
    slot->client = std::move(client);
    epoch->idle.push_back(std::move(slot));
  }
  return epoch;
}

absl::StatusOr<Upstream::Lease> Upstream::Acquire() {
  absl::MutexLock lock(&mutex_);
  for (;;) {
    if (current_ == nullptr || current_->ended) {
      return ErrnoError(ENOTCONN, absl::StrCat("the file server \"", options_.service_name,
                                               "\" is not connected: ", last_error_.message()));
    }
    if (!current_->idle.empty()) {
      std::unique_ptr<Slot> slot = std::move(current_->idle.back());
      current_->idle.pop_back();
      return Lease(this, current_, std::move(slot));
    }
    slot_freed_.Wait(&mutex_);
  }
}

void Upstream::Release(std::shared_ptr<Epoch> epoch, std::unique_ptr<Slot> slot) {
  {
    absl::MutexLock lock(&mutex_);
    if (!epoch->ended) {
      epoch->idle.push_back(std::move(slot));
      slot_freed_.Signal();
      return;
    }
  }
  slot.reset();  // closes its link: the old server's end sees it go
}

void Upstream::EndEpoch(Epoch* epoch, const absl::Status& why) {
  std::vector<std::unique_ptr<Slot>> idle;
  {
    absl::MutexLock lock(&mutex_);
    if (epoch->ended) return;
    epoch->ended = true;
    idle = std::move(epoch->idle);
    epoch->idle.clear();
    if (current_.get() == epoch) {
      last_error_ = absl::Status(
          why.code(), absl::StrCat("connection ", epoch->number, " ended: ", why.message()));
      why.ForEachPayload([&](absl::string_view url, const absl::Cord& payload)
                             ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
                               last_error_.SetPayload(url, payload);  // IsPeerDied() still tells
                             });
    }
    slot_freed_.SignalAll();
  }
  Wake();
}

uint64_t Upstream::epoch() const {
  absl::MutexLock lock(&mutex_);
  return epochs_;
}

bool Upstream::connected() const {
  absl::MutexLock lock(&mutex_);
  return current_ != nullptr && !current_->ended;
}

bool Upstream::WaitConnected(absl::Time deadline) const {
  auto up = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return current_ != nullptr && !current_->ended;
  };
  // mutex_ looks at the condition again each time a thread lets it go: the watcher
  // installing an epoch wakes this.
  const bool connected = mutex_.LockWhenWithDeadline(absl::Condition(&up), deadline);
  mutex_.Unlock();
  return connected;
}

absl::Status Upstream::last_error() const {
  absl::MutexLock lock(&mutex_);
  return last_error_;
}

void Upstream::Wake() {
  const uint64_t one = 1;
  (void)!write(wake_fd_.get(), &one, sizeof(one));
}

void Upstream::Watch() {
  absl::Duration backoff = options_.min_backoff;
  for (;;) {
    std::shared_ptr<Epoch> epoch;
    uint64_t next_number;
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      if (current_ != nullptr && !current_->ended) epoch = current_;
      next_number = epochs_ + 1;
    }
    std::vector<pollfd> fds = {{wake_fd_.get(), POLLIN, 0}};
    int timeout_ms = -1;
    if (epoch == nullptr) {  // down: dial, and on failure wait out the backoff
      absl::StatusOr<std::shared_ptr<Epoch>> dialed = Dial(next_number);
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      if (dialed.ok()) {
        current_ = *std::move(dialed);
        epochs_ = next_number;
        last_error_ = absl::OkStatus();
        backoff = options_.min_backoff;
        continue;
      }
      last_error_ = dialed.status();
      timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(backoff));
      backoff = std::min(backoff * 2, options_.max_backoff);
    } else {
      for (const UniqueFd& fd : epoch->watch_fds) fds.push_back({fd.get(), POLLRDHUP, 0});
    }
    const int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      absl::SleepFor(absl::Milliseconds(10));  // cannot happen with valid descriptors
      continue;
    }
    uint64_t count;
    if (fds[0].revents != 0) (void)!read(wake_fd_.get(), &count, sizeof(count));
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
        EndEpoch(epoch.get(), PeerDiedError("the server closed its link"));
        break;
      }
    }
  }
}

}  // namespace syslink::examples::fs
