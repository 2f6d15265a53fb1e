// HandleNumbers: numbers for a file server's open handles that no client can guess, so
// that a client uses only the handles it was given. A server's handles are shared by all
// its clients (one fs_mount calls over several links, and a handle opened on one may be
// read on another), and fs.proto's calls name a handle by number alone: were numbers
// counted up, any client could read, write, punch holes in or release another's open
// files, whatever their permissions, by trying the numbers below its own.
//
//   HandleNumbers numbers;
//   uint64_t fh;
//   do fh = numbers.Next(); while (handles.contains(fh));
//
// Each number is 64 bits from getrandom(2), never 0; a number may come again only by
// chance (the tables skip one still in use). Numbers are drawn 512 at a time.
//
// Thread safety: one thread at a time (the tables call it under their lock). Errors: none;
// the process aborts, saying why, if the kernel gives no random bytes (getrandom(2) fails
// only without a kernel that has it).

#ifndef SYSLINK_EXAMPLES_FS_HANDLE_NUMBERS_H_
#define SYSLINK_EXAMPLES_FS_HANDLE_NUMBERS_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace syslink::examples::fs {

class HandleNumbers {
 public:
  // A random number, never 0.
  uint64_t Next();

 private:
  void Refill();

  std::array<uint64_t, 512> pool_;
  size_t left_ = 0;  // numbers of pool_ not handed out yet, at its front
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_HANDLE_NUMBERS_H_
