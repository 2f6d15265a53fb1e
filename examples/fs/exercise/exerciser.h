// Exercise(): random file operations on a filesystem, each checked against an in-memory
// model of what the filesystem must then hold.
//
//   PosixOps mount("/mnt/memfs");
//   absl::Status s = Exercise(mount, {.seed = 7, .operations = 5000});
//   EXPECT_TRUE(s.ok()) << s;   // names the seed, the operation, and the ones before it
//
// Files live at a few fixed paths in the root and in a directory "sub" that the run makes
// first. Each operation is one of: create (O_EXCL), write or read at a random offset and
// length (crossing 128 KiB calls, leaving holes that must read as zeros), truncate to a
// random size, rename (onto an existing file too, and across directories), unlink, stat
// of the size, and listing a directory. Every result is checked: the errno (ENOENT for a
// missing file, EEXIST for a create over one), the bytes read, the size, the names listed.
// At the end every file is read whole and compared.
//
// The same seed gives the same operations, so a failure can be replayed.
//
// Thread safety: runs on the caller's thread; `ops` is used from it only.

#ifndef SYSLINK_EXAMPLES_FS_EXERCISE_EXERCISER_H_
#define SYSLINK_EXAMPLES_FS_EXERCISE_EXERCISER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "examples/fs/exercise/file_ops.h"

namespace syslink::examples::fs {

struct ExerciseOptions {
  uint64_t seed = 1;
  int operations = 2000;
  int names_per_directory = 4;      // paths f0.. in the root and sub/f0.. in "sub"
  int64_t max_offset = 512 * 1024;  // writes, reads and truncates start below this
  size_t max_length = 300 * 1024;   // and move at most this many bytes
};

// Runs the operations on `ops`, whose root must be empty. OK when every result matched
// the model; otherwise INTERNAL (or the first unexpected errno's failure), with a message
// naming the seed, the operation's number and what differed, and the operations before it.
[[nodiscard]] absl::Status Exercise(FileOps& ops, const ExerciseOptions& options);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_EXERCISE_EXERCISER_H_
