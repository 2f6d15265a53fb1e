#include "syslink/link.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "base/errno_status.h"
#include "ring/ring_control.h"
#include "ring/shared_region.h"
#include "syslink/internal/link_core.h"
#include "syslink/internal/link_layout.h"

namespace syslink {

void DmaBuffer::Return() {
  core_->ReturnBuffer(offset_);
  core_.reset();
}

void PeerBuffer::Release() {
  core_->ReleasePeerBuffer(offset_, size_);
  core_.reset();
}

void PeerBuffer::CopyAndRelease() {
  std::shared_ptr<std::byte[]> copy = std::make_shared_for_overwrite<std::byte[]>(size_);
  std::memcpy(copy.get(), data_, size_);
  data_ = copy.get();
  Release();
  // An owner without a pointer: the copy lives as long as core_, which releases nothing.
  core_ = std::shared_ptr<internal::LinkCore>(std::move(copy), nullptr);
}

absl::StatusOr<LinkPair> Link::CreatePair(const LinkOptions& options) {
  if (absl::Status s = ValidateLinkOptions(options); !s.ok()) return s;
  internal::LinkLayout layout(options);
  absl::StatusOr<ring::SharedRegion> region =
      ring::SharedRegion::Create("syslink-link", layout.total_size, layout.hot_bytes());
  if (!region.ok()) return region.status();
  for (int writer : {0, 1}) {
    absl::Status s = ring::InitializeRing(
        {region->data() + layout.RingOffset(writer), layout.ring_bytes}, options.wait.mode);
    if (!s.ok()) return s;
  }
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sockets) != 0) {
    return ErrnoStatus("socketpair for a new link");
  }
  UniqueFd first_socket(sockets[0]), second_socket(sockets[1]);
  // Each end maps the region on its own, as it would in a process of its own.
  absl::StatusOr<ring::SharedRegion> second_region = ring::SharedRegion::Map(
      UniqueFd(fcntl(region->fd(), F_DUPFD_CLOEXEC, 0)), layout.total_size, layout.hot_bytes());
  if (!second_region.ok()) return second_region.status();
  absl::StatusOr<std::shared_ptr<internal::LinkCore>> first =
      internal::LinkCore::Open(std::move(first_socket), *std::move(region), 0, options);
  if (!first.ok()) return first.status();
  absl::StatusOr<std::shared_ptr<internal::LinkCore>> second =
      internal::LinkCore::Open(std::move(second_socket), *std::move(second_region), 1, options);
  if (!second.ok()) return second.status();
  return LinkPair(Link(*std::move(first)), Link(*std::move(second)));
}

Link::Link() = default;
Link::Link(std::shared_ptr<internal::LinkCore> core) : core_(std::move(core)) {}
Link::Link(Link&&) noexcept = default;
Link& Link::operator=(Link&& other) noexcept {
  if (this != &other) {
    if (core_) core_->Close();
    core_ = std::move(other.core_);
  }
  return *this;
}
Link::~Link() {
  if (core_) core_->Close();
}

namespace {
absl::Status Invalid() { return absl::FailedPreconditionError("this Link holds no end"); }
}  // namespace

absl::StatusOr<DmaBuffer> Link::AllocateBuffer(size_t bytes, absl::Time deadline) {
  if (!core_) return Invalid();
  return core_->AllocateBuffer(bytes, deadline);
}

absl::StatusOr<uint64_t> Link::Send(uint32_t command, std::span<const std::byte> data, DmaLoan loan,
                                    absl::Time deadline) {
  if (!core_) return Invalid();
  return core_->Send(command, data, std::move(loan), deadline);
}

absl::StatusOr<uint64_t> Link::SendInPlace(uint32_t command, size_t size, PayloadWriter fill,
                                           DmaLoan loan, absl::Time deadline) {
  if (!core_) return Invalid();
  return core_->SendInPlace(command, size, fill, std::move(loan), deadline, deadline);
}

absl::StatusOr<uint64_t> Link::SendInPlace(uint32_t command, size_t size, PayloadWriter fill,
                                           DmaLoan& loan, absl::Time deadline,
                                           absl::Time room_deadline) {
  if (!core_) return Invalid();
  return core_->SendInPlace(command, size, fill, std::move(loan), deadline, room_deadline);
}

absl::Status Link::ReplyInPlace(uint64_t id, size_t size, PayloadWriter fill, ReplyDma dma) {
  if (!core_) return Invalid();
  return core_->ReplyInPlace(id, size, fill, std::move(dma));
}

absl::StatusOr<Message> Link::Receive(absl::Time deadline) {
  if (!core_) return Invalid();
  return core_->Receive(deadline);
}

absl::Status Link::Reply(uint64_t id, const absl::Status& status, std::span<const std::byte> data,
                         ReplyDma dma) {
  if (!core_) return Invalid();
  return core_->Reply(id, status, data, std::move(dma));
}

absl::StatusOr<Message> Link::Call(uint32_t command, std::span<const std::byte> data, DmaLoan loan,
                                   absl::Time deadline) {
  if (!core_) return Invalid();
  return core_->Call(command, data, std::move(loan), deadline);
}

absl::Status Link::Cancel(uint64_t id) {
  if (!core_) return Invalid();
  return core_->Cancel(id);
}

int Link::fd() const { return core_ ? core_->fd() : -1; }

void Link::SetStopFlag(const std::atomic<bool>* stop) {
  if (core_) core_->SetStopFlag(stop);
}

void Link::SetPatience(absl::Duration patience) {
  if (core_) core_->SetPatience(patience);
}

absl::StatusOr<LinkWaker> Link::Waker() {
  if (!core_) return Invalid();
  return core_->Waker();
}

RequestWatch Link::Watch(const Message& request) const {
  return core_ ? core_->Watch(request) : RequestWatch();
}

bool RequestWatch::given_up() const {
  if (slot_ == nullptr) return false;
  // The slot holds another id (or none) once the request is no longer outstanding there.
  return slot_->id.load(std::memory_order_acquire) != id_ ||
         (slot_->state.load(std::memory_order_acquire) & kMirrorGivenUp) != 0;
}

absl::StatusOr<int> Link::ReturnBuffersFromAnyThread() {
  if (!core_) return Invalid();
  return core_->ReturnBuffersFromAnyThread();
}

bool Link::PrepareToPoll() { return core_ && core_->PrepareToPoll(); }

bool Link::Ready() const { return !core_ || core_->Ready(); }

absl::Status Link::status() const { return core_ ? core_->status() : Invalid(); }

void Link::Close() {
  if (core_) core_->Close();
}

LinkStats Link::stats() const { return core_ ? core_->stats() : LinkStats{}; }

const LinkOptions& Link::options() const {
  static const LinkOptions kDefault;
  return core_ ? core_->options() : kDefault;
}

}  // namespace syslink
