#include "rpc/attachment.h"

#include <algorithm>

namespace syslink::rpc {

Attachment Attachment::FromBytes(std::span<const std::byte> bytes) {
  Attachment a;
  a.heap_.assign(bytes.begin(), bytes.end());
  return a;
}

Attachment Attachment::FromDmaBuffer(DmaBuffer buffer) {
  Attachment a;
  a.dma_ = std::move(buffer);
  return a;
}

Attachment Attachment::FromPeerBuffer(PeerBuffer buffer, size_t offset, size_t size) {
  Attachment a;
  size_t available = buffer.size();
  a.view_offset_ = std::min(offset, available);
  a.view_size_ = std::min(size, available - a.view_offset_);
  a.peer_ = std::move(buffer);
  return a;
}

size_t Attachment::size() const {
  if (dma_.valid()) return dma_.size();
  if (peer_.valid()) return view_size_;
  return heap_.size();
}

std::span<std::byte> Attachment::data() {
  if (dma_.valid()) return dma_.data();
  if (peer_.valid()) return peer_.data().subspan(view_offset_, view_size_);
  return heap_;
}

std::span<const std::byte> Attachment::data() const {
  return const_cast<Attachment*>(this)->data();
}

void Attachment::resize(size_t size) {
  if (dma_.valid()) {
    dma_.resize(size);
  } else if (peer_.valid()) {
    view_size_ = std::min(size, peer_.size() - view_offset_);
  } else {
    heap_.resize(size);
  }
}

}  // namespace syslink::rpc
