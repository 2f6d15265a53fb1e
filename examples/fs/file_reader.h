// FileReader: reads an open file of the file service front to back with Reads sent ahead
// of the caller, so that the server fills the next piece while the caller copies this one.
//
//   FileReader reader(&fs, ino, fh);           // from offset 0, one piece read ahead
//   std::vector<std::byte> buffer(kMaxIoSize);
//   for (;;) {
//     absl::StatusOr<size_t> n = reader.Read(buffer);
//     if (!n.ok()) return n.status();
//     if (*n == 0) break;                      // the end of the file
//     Consume(std::span(buffer).first(*n));
//   }
//
// Read-ahead. The reader holds up to `depth` pieces of kMaxIoSize: the one it is returning
// and depth - 1 read ahead (a single Read is sent first, and more once a full piece came
// back). Bytes another client writes after a piece was sent may therefore not be seen, as
// with a kernel's read-ahead; a caller that needs every write of others reads with
// FsClient::Read. The first short piece marks the end: nothing is sent past it, pieces
// already sent past it are cancelled, and later Read calls return 0.
//
// Errors: those of FsClient::Read (a server's errno as ErrnoError; UNAVAILABLE with
// syslink::IsPeerDied when the server died). A Read that copied bytes before a piece
// failed returns those bytes; the next returns the error, and so does every later one.
//
// Thread safety: one thread at a time. Waiting for a piece drives the client's channel
// until all of its async calls are answered, so while a FileReader has pieces outstanding
// no other thread may drive that channel, and async calls of others on it hold up Read.
// Ownership: borrows the FsClient, which must outlive the reader; the destructor cancels
// the pieces still outstanding and waits for their answers (at once from a live server;
// a dead one answers for them).

#ifndef SYSLINK_EXAMPLES_FS_FILE_READER_H_
#define SYSLINK_EXAMPLES_FS_FILE_READER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/fs/fs_client.h"

namespace syslink::examples::fs {

class FileReader {
 public:
  // Reads inode `ino` through handle `fh` (open for reading) from `offset` (not negative),
  // holding up to `depth` pieces (at least 1; 1 reads nothing ahead).
  FileReader(FsClient* client, uint64_t ino, uint64_t fh, int64_t offset = 0, int depth = 2);
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

  // Fills `out` with the file's next bytes and returns how many: out.size(), fewer only at
  // the end of the file (0 once there) or before an error. An empty `out` returns 0.
  [[nodiscard]] absl::StatusOr<size_t> Read(std::span<std::byte> out);

 private:
  struct Piece;

  // Sends a read of the next kMaxIoSize bytes (or marks the end, past the largest offset).
  void Send();
  // Waits until `piece` is answered; its bytes, or the error.
  absl::StatusOr<std::span<const std::byte>> Await(Piece& piece);
  // Cancels the pieces outstanding, waits for their answers and drops them.
  void DropAll();

  FsClient* const client_;
  const uint64_t ino_;
  const uint64_t fh_;
  const size_t depth_;
  int64_t next_offset_;                        // where the next read sent starts
  bool end_seen_ = false;                      // a short piece came back: send nothing more
  absl::Status error_;                         // the first error, returned from then on
  std::deque<std::unique_ptr<Piece>> pieces_;  // sent, in file order
  size_t front_used_ = 0;                      // bytes of pieces_.front() already returned
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FILE_READER_H_
