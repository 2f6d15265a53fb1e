#include "examples/fs/file_reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/time/time.h"

namespace syslink::examples::fs {

struct FileReader::Piece {
  Piece(uint64_t ino, uint64_t fh, int64_t offset) : call(ino, fh, offset, kMaxIoSize) {}
  FsClient::ReadCall call;
  std::atomic<bool> done{false};  // set by the completion
  absl::Status status;            // the RPC's
};

FileReader::FileReader(FsClient* client, uint64_t ino, uint64_t fh, int64_t offset, int depth)
    : client_(client),
      ino_(ino),
      fh_(fh),
      depth_(static_cast<size_t>(std::max(depth, 1))),
      next_offset_(offset) {}

FileReader::~FileReader() { DropAll(); }

void FileReader::DropAll() {
  for (std::unique_ptr<Piece>& piece : pieces_) piece->call.context.TryCancel();
  for (std::unique_ptr<Piece>& piece : pieces_) (void)Await(*piece);
  pieces_.clear();
  front_used_ = 0;
}

void FileReader::Send() {
  if (next_offset_ > std::numeric_limits<int64_t>::max() - int64_t{kMaxIoSize}) {
    end_seen_ = true;  // no file reaches past the largest offset
    return;
  }
  auto piece = std::make_unique<Piece>(ino_, fh_, next_offset_);
  next_offset_ += kMaxIoSize;
  Piece* raw = piece.get();
  pieces_.push_back(std::move(piece));
  client_->ReadAsync(&raw->call, [raw](absl::Status status) {
    raw->status = std::move(status);
    raw->done.store(true, std::memory_order_release);
  });
}

absl::StatusOr<std::span<const std::byte>> FileReader::Await(Piece& piece) {
  while (!piece.done.load(std::memory_order_acquire)) {
    client_->channel().Drain(absl::InfiniteFuture());
  }
  if (absl::Status s = FsClient::ReadOutcome(piece.status, piece.call); !s.ok()) return s;
  std::span<const std::byte> bytes = std::as_const(piece.call.context.response_attachment()).data();
  return bytes.first(std::min<size_t>(bytes.size(), piece.call.request.size()));
}

absl::StatusOr<size_t> FileReader::Read(std::span<std::byte> out) {
  if (!error_.ok()) return error_;
  size_t filled = 0;
  while (filled < out.size()) {
    if (pieces_.empty()) {
      if (!end_seen_) Send();
      if (pieces_.empty()) break;  // at the end
    }
    Piece& front = *pieces_.front();
    absl::StatusOr<std::span<const std::byte>> bytes = Await(front);
    if (!bytes.ok()) {
      error_ = bytes.status();
      DropAll();
      if (filled > 0) break;  // the caller gets these bytes now, the error next time
      return error_;
    }
    const bool last = bytes->size() < kMaxIoSize;
    end_seen_ = end_seen_ || last;
    // Keep the server busy with the next pieces while this one is copied.
    while (!end_seen_ && pieces_.size() < depth_) Send();
    const size_t n = std::min(bytes->size() - front_used_, out.size() - filled);
    if (n > 0) std::memcpy(out.data() + filled, bytes->data() + front_used_, n);
    filled += n;
    front_used_ += n;
    if (front_used_ < bytes->size()) continue;  // `out` is full
    pieces_.pop_front();                        // gives its buffer back
    front_used_ = 0;
    if (last) {  // the end of the file: what was sent past it does not follow on
      DropAll();
      break;
    }
  }
  return filled;
}

}  // namespace syslink::examples::fs
