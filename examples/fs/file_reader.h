// FileReader: reads an open file of the file service front to back with more than one Read
// in flight, so that the server fills the next piece while the caller copies this one.
//
//   FileReader reader(&fs, ino, fh);           // from offset 0, two reads in flight
//   std::vector<std::byte> buffer(kMaxIoSize);
//   for (;;) {
//     absl::StatusOr<size_t> n = reader.Read(buffer);
//     if (!n.ok()) return n.status();
//     if (*n == 0) break;                      // the end of the file
//     Consume(std::span(buffer).first(*n));
//   }
//
// Read-ahead. A Read call may send reads past the bytes it returns (at most `depth` pieces
// of kMaxIoSize are outstanding). Bytes another client writes after such a read was sent
// may therefore not be seen, as with a kernel's read-ahead; a caller that needs every
// write of others reads with FsClient::Read. The first short piece marks the end: no read
// is sent past it, and later Read calls return 0.
//
// Errors: those of FsClient::Read (a server's errno as ErrnoError; UNAVAILABLE with
// syslink::IsPeerDied when the server died). After an error, every later Read returns it.
//
// Thread safety: one thread at a time, and nothing else may drive the client's channel
// while a FileReader has reads outstanding: their completions run on the thread that
// drives it. Ownership: borrows the FsClient, which must outlive the reader; the destructor
// waits for the reads still outstanding (the server answers them or dies).

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
  // Reads inode `ino` through handle `fh` (open for reading) from `offset`, with up to
  // `depth` (at least 1) reads of kMaxIoSize in flight.
  FileReader(FsClient* client, uint64_t ino, uint64_t fh, int64_t offset = 0, int depth = 2);
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

  // Fills `out` with the file's next bytes and returns how many: out.size(), fewer only at
  // the end of the file (0 once there).
  [[nodiscard]] absl::StatusOr<size_t> Read(std::span<std::byte> out);

 private:
  struct Piece;

  // Sends a read of the next kMaxIoSize bytes.
  void Send();
  // Waits until `piece` is answered; its bytes, or the error.
  absl::StatusOr<std::span<const std::byte>> Await(Piece& piece);

  FsClient* const client_;
  const uint64_t ino_;
  const uint64_t fh_;
  const size_t depth_;
  int64_t next_offset_;              // where the next read sent starts
  bool end_sent_ = false;            // a short piece came back: send nothing more
  absl::Status error_;               // the first error, returned from then on
  std::deque<std::unique_ptr<Piece>> pieces_;  // sent, in file order
  size_t front_used_ = 0;            // bytes of pieces_.front() already returned
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FILE_READER_H_
