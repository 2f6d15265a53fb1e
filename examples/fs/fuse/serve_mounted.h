// ServeMounted: the life of a FUSE daemon in the foreground once its libfuse low-level
// session exists: mount it at a directory, serve requests until SIGINT, SIGTERM or an
// unmount, then unmount. fs_mount and the benchmark's null_fuse both end this way.
//
//   fuse_session* session = fuse_session_new(&args, &ops, sizeof(ops), userdata);
//   if (session == nullptr) return 1;
//   return ServeMounted(session, "/mnt/x", {.program = "my_fs"});
//
// Errors: a mount that fails, or a loop that ends with an error, is reported on stderr as
// "<program>: ..." and gives exit code 1; a clean stop (a signal, an unmount) gives 0.
// Ownership: takes the session and destroys it. Thread safety: call once, from main.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_SERVE_MOUNTED_H_
#define SYSLINK_EXAMPLES_FS_FUSE_SERVE_MOUNTED_H_

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse3/fuse_lowlevel.h>

#include <functional>
#include <string>

namespace syslink::examples::fs {

struct ServeOptions {
  const char* program = "fuse";  // the prefix of its messages
  // 1: libfuse's single-threaded loop; more: its multi-threaded loop with this many workers.
  int threads = 1;
  // Runs once mounted, before the first request is served (may be empty).
  std::function<void()> mounted;
};

// Returns the process's exit code (see above).
int ServeMounted(fuse_session* session, const std::string& mountpoint, const ServeOptions& options);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_SERVE_MOUNTED_H_
