// Attachment: a bulk buffer that travels beside an RPC message, zero-copy over a link.
//
//   syslink::rpc::Attachment a = channel->AllocateAttachment(128 * 1024).value();
//   Fill(a.data());
//   context.set_request_attachment(std::move(a));
//
// Over a link, an attachment allocated from that link's channel lives in the link's DMA
// arena and is lent to the peer without a copy. One received with a message is a view into
// the peer's arena (read-only for a response, readable for a request until the reply).
// Attachments made from plain memory (FromBytes) are copied once into the arena when sent
// over a link; over an in-process channel nothing is copied.
//
// Thread safety: a value type. Ownership: move-only; an arena-backed attachment returns
// its pages when destroyed and keeps the link's region mapped while it lives.

#ifndef SYSLINK_RPC_ATTACHMENT_H_
#define SYSLINK_RPC_ATTACHMENT_H_

#include <cstddef>
#include <span>
#include <vector>

#include "syslink/link.h"

namespace syslink::rpc {

class Attachment {
 public:
  Attachment() = default;
  Attachment(Attachment&&) = default;
  Attachment& operator=(Attachment&&) = default;

  // An attachment holding a copy of `bytes`, in ordinary memory.
  static Attachment FromBytes(std::span<const std::byte> bytes);
  // One backed by a buffer of a link's arena (what LinkChannel::AllocateAttachment makes).
  static Attachment FromDmaBuffer(DmaBuffer buffer);
  // A view of `size` bytes at `offset` of a buffer that came with a message from the peer.
  static Attachment FromPeerBuffer(PeerBuffer buffer, size_t offset = 0, size_t size = ~size_t{0});

  bool empty() const { return size() == 0; }
  size_t size() const;
  // Writable for an attachment of this process's own; a received one is the peer's bytes.
  std::span<std::byte> data();
  std::span<const std::byte> data() const;
  // Sets how many bytes are in use (at most the capacity), for an attachment being filled.
  void resize(size_t size);

  // The arena buffer behind this attachment, if it has one, given up to the caller.
  DmaBuffer TakeDmaBuffer() { return std::move(dma_); }
  bool is_dma() const { return dma_.valid(); }
  const DmaBuffer& dma() const { return dma_; }

 private:
  DmaBuffer dma_;
  PeerBuffer peer_;
  size_t view_offset_ = 0;  // of peer_
  size_t view_size_ = 0;
  std::vector<std::byte> heap_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_ATTACHMENT_H_
