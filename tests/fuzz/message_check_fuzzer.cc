// libFuzzer target for CheckMessageShape(): any bytes a hostile peer could leave in a ring
// record, checked against limits that are also drawn from the input.
//
//   tools/fuzz 60                                      # libFuzzer, outside Bazel
//   bazel test //tests/fuzz:message_check_corpus_test  # replays the seed corpus
//
// Input layout: the first kLimitBytes bytes choose the limits (missing bytes read as 0),
// the rest is the ring record (header, then inline payload):
//
//   bytes 0-1  sender arena in pages, little-endian
//   bytes 2-3  receiver arena in pages
//   bytes 4-5  largest DMA buffer in pages
//   byte  6    mode: bit 0 makes the sender arena 2^64-1 minus its pages, bit 1 likewise the
//              receiver's (so offset + length can wrap), bit 2 makes the DMA limit 2^64-1
//   byte  7    bytes added to the DMA limit (so it need not be whole pages)
//
// The header is copied out with memcpy and zero-padded when the record is short, as
// LinkCore::ReadOne does. A rejected message must be BAD_MESSAGE; an accepted one must
// satisfy, recomputed here independently, everything the receiver then relies on: a known
// kind, a request's mirror slot the one its id names, flags that kind may carry, every DMA
// range page-aligned, within the limit and inside the arena the kind names, and the inline
// length matching the record. IsPlainMessage(), the receiver's fast path, must accept
// exactly the accepted messages with no flag and no DMA descriptor that are requests or
// replies. A violation traps.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "syslink/internal/message_check.h"
#include "syslink/mirror_format.h"
#include "syslink/msg_format.h"
#include "syslink/status.h"

namespace {

using syslink::MessageHeader;
using syslink::MessageKind;
using syslink::internal::MessageLimits;

constexpr size_t kLimitBytes = 8;
constexpr uint64_t kPage = syslink::kDmaPageSize;
constexpr uint64_t kTop = ~uint64_t{0};

[[noreturn]] void Fail(const char* what, const MessageHeader& h, const absl::Status& status) {
  std::fprintf(stderr,
               "message_check_fuzzer: %s\n  kind=%u flags=0x%x id=%llu command=%u status=%d "
               "inline=%u mirror_slot=%u dma=[%llu, +%llu)\n  CheckMessageShape: %s\n",
               what, h.kind, h.flags, static_cast<unsigned long long>(h.message_id), h.command,
               h.status, h.inline_length, h.mirror_slot,
               static_cast<unsigned long long>(h.dma_offset),
               static_cast<unsigned long long>(h.dma_length), status.ToString().c_str());
  __builtin_trap();
}

#define FUZZ_REQUIRE(cond)                                       \
  do {                                                           \
    if (!(cond)) Fail("accepted, but " #cond " is false", h, s); \
  } while (0)

MessageLimits LimitsFrom(const uint8_t* data, size_t size) {
  uint8_t b[kLimitBytes] = {};
  std::memcpy(b, data, size < kLimitBytes ? size : kLimitBytes);
  uint64_t sender_pages = b[0] | (uint64_t{b[1]} << 8);
  uint64_t receiver_pages = b[2] | (uint64_t{b[3]} << 8);
  uint64_t dma_pages = b[4] | (uint64_t{b[5]} << 8);
  uint8_t mode = b[6];
  MessageLimits limits;
  limits.sender_arena_size = (mode & 1) ? kTop - sender_pages * kPage : sender_pages * kPage;
  limits.receiver_arena_size = (mode & 2) ? kTop - receiver_pages * kPage : receiver_pages * kPage;
  limits.max_dma_size = (mode & 4) ? kTop : dma_pages * kPage + b[7];
  return limits;
}

// [offset, offset + length) lies inside an arena of `arena` bytes, computed without wrapping.
bool Inside(uint64_t offset, uint64_t length, uint64_t arena) {
  return static_cast<unsigned __int128>(offset) + length <= arena;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const MessageLimits limits = LimitsFrom(data, size);
  const uint8_t* record = size > kLimitBytes ? data + kLimitBytes : nullptr;
  const uint64_t record_size = size > kLimitBytes ? size - kLimitBytes : 0;

  MessageHeader h;
  std::memset(&h, 0, sizeof(h));
  if (record_size > 0) {
    std::memcpy(&h, record, record_size < sizeof(h) ? record_size : sizeof(h));
  }

  const absl::Status s = syslink::internal::CheckMessageShape(h, record_size, limits);

  // A pure function: the same answer twice.
  if (syslink::internal::CheckMessageShape(h, record_size, limits) != s) {
    Fail("two checks of the same header disagree", h, s);
  }

  const bool plain_kind = h.kind == static_cast<uint8_t>(MessageKind::kRequest) ||
                          h.kind == static_cast<uint8_t>(MessageKind::kReply);
  const bool plain = s.ok() && plain_kind && h.flags == 0 && h.dma_offset == 0 && h.dma_length == 0;
  if (syslink::internal::IsPlainMessage(h, record_size) != plain) {
    Fail(plain ? "IsPlainMessage() refuses a plain message the full check accepts"
               : "IsPlainMessage() accepts a message that is not plain, or is rejected",
         h, s);
  }

  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kDataLoss) Fail("rejected, but not DATA_LOSS", h, s);
    if (!syslink::IsBadMessage(s)) Fail("rejected, but not BAD_MESSAGE", h, s);
    if (s.message().empty()) Fail("rejected without a message", h, s);
    return 0;
  }

  // Accepted: everything the receiver relies on afterwards.
  FUZZ_REQUIRE(record_size >= syslink::kMessageHeaderSize);
  FUZZ_REQUIRE(h.magic == syslink::kMessageMagic);
  FUZZ_REQUIRE(h.version == syslink::kMessageVersion);
  FUZZ_REQUIRE(h.inline_length == record_size - syslink::kMessageHeaderSize);
  FUZZ_REQUIRE((h.flags & ~syslink::kKnownFlags) == 0);

  const bool to = h.flags & syslink::kFlagDmaToTarget;
  const bool from = h.flags & syslink::kFlagDmaFromTarget;
  const bool reply_buffer = h.flags & syslink::kFlagDmaReplyBuffer;
  const bool synthetic = h.flags & syslink::kFlagSynthetic;
  const bool has_buffer = to || from || reply_buffer;

  if (has_buffer) {
    FUZZ_REQUIRE(h.dma_offset % kPage == 0);
    FUZZ_REQUIRE(h.dma_length <= limits.max_dma_size);
  } else if (h.kind != static_cast<uint8_t>(MessageKind::kRelease)) {
    FUZZ_REQUIRE(h.dma_offset == 0 && h.dma_length == 0);
  }

  switch (h.kind) {
    case static_cast<uint8_t>(MessageKind::kRequest):
      FUZZ_REQUIRE(!reply_buffer && !synthetic);
      FUZZ_REQUIRE(!(to && from));
      FUZZ_REQUIRE(h.status == 0);
      FUZZ_REQUIRE(h.mirror_slot < syslink::kMirrorSlots);
      FUZZ_REQUIRE(h.mirror_slot == h.message_id % syslink::kMirrorSlots);
      if (has_buffer) {
        FUZZ_REQUIRE(h.dma_length > 0);
        FUZZ_REQUIRE(Inside(h.dma_offset, h.dma_length, limits.sender_arena_size));
      }
      break;
    case static_cast<uint8_t>(MessageKind::kReply):
      FUZZ_REQUIRE(!to);
      FUZZ_REQUIRE(!(from && reply_buffer));
      FUZZ_REQUIRE(h.mirror_slot == 0);
      FUZZ_REQUIRE(h.status >= 0 &&
                   h.status <= static_cast<int>(absl::StatusCode::kUnauthenticated));
      if (from) {  // the requester's lent buffer, filled: may hold 0 bytes
        FUZZ_REQUIRE(Inside(h.dma_offset, h.dma_length, limits.receiver_arena_size));
      }
      if (reply_buffer) {  // the replier's own buffer
        FUZZ_REQUIRE(h.dma_length > 0);
        FUZZ_REQUIRE(Inside(h.dma_offset, h.dma_length, limits.sender_arena_size));
      }
      break;
    case static_cast<uint8_t>(MessageKind::kRelease):
      FUZZ_REQUIRE(h.flags == 0 && h.status == 0 && h.command == 0 && h.inline_length == 0);
      FUZZ_REQUIRE(h.mirror_slot == 0);
      FUZZ_REQUIRE(h.dma_offset % kPage == 0);
      FUZZ_REQUIRE(h.dma_length > 0);
      FUZZ_REQUIRE(h.dma_length <= limits.max_dma_size);
      FUZZ_REQUIRE(Inside(h.dma_offset, h.dma_length, limits.receiver_arena_size));
      break;
    default:
      Fail("accepted a message of unknown kind", h, s);
  }
  return 0;
}
