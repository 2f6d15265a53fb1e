#include "examples/fs/fuse/serve_mounted.h"

#include <cstdio>
#include <cstring>

namespace syslink::examples::fs {

int ServeMounted(fuse_session* session, const std::string& mountpoint,
                 const ServeOptions& options) {
  int result = 1;
  if (fuse_set_signal_handlers(session) != 0) {
    std::fprintf(stderr, "%s: cannot set signal handlers\n", options.program);
  } else if (fuse_session_mount(session, mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "%s: cannot mount at %s (libfuse said why above)\n", options.program,
                 mountpoint.c_str());
    fuse_remove_signal_handlers(session);
  } else {
    if (options.mounted) options.mounted();
    int loop;
    if (options.threads <= 1) {
      loop = fuse_session_loop(session);
    } else {
      fuse_loop_config* config = fuse_loop_cfg_create();
      fuse_loop_cfg_set_max_threads(config, options.threads);
      fuse_loop_cfg_set_idle_threads(config, options.threads);
      loop = fuse_session_loop_mt(session, config);
      fuse_loop_cfg_destroy(config);
    }
    fuse_session_unmount(session);
    fuse_remove_signal_handlers(session);
    // 0, the signal that stopped it (a clean stop too), or -errno.
    if (loop < 0) std::fprintf(stderr, "%s: %s\n", options.program, std::strerror(-loop));
    result = loop < 0 ? 1 : 0;
  }
  fuse_session_destroy(session);
  return result;
}

}  // namespace syslink::examples::fs
