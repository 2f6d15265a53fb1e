// The FUSE mounts fs_benchmark goes through, each started on first use and kept until the
// benchmark exits: fs_mount of another memfs (with its syslinkd), and null_fuse, a FUSE
// filesystem with no server behind it, placed by the scheduler or pinned beside the caller.
//
//   std::string path = MountPath(state, "big");  // "" (and `state` failed) without a mount
//   const LazyMount<NullFuse>& null = NullFuseMount(Placement::kCallerCpu);
//   if (null.mount != nullptr) ReadBigFile(state, null.mount->Path("file"), Cache::kDrop);
//
// The mount's processes, and null_fuse placed by the scheduler, are started with this
// process unpinned for the moment, so that they may run on every CPU, as they would.
//
// Thread safety: call from the benchmark's thread (starting a mount changes the process's
// CPU affinity for the moment). Ownership: each mount lives in a function-local static,
// destroyed when the process exits, which stops its processes and unmounts; a NullFuse
// sends its server SIGTERM (it unmounts), detaches whatever is still mounted and removes
// its directories. Errors: where FUSE cannot be mounted, or a mount cannot be started,
// LazyMount::why says why and `mount` is null; nothing aborts.

#ifndef SYSLINK_EXAMPLES_FS_BENCH_MOUNTS_H_
#define SYSLINK_EXAMPLES_FS_BENCH_MOUNTS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "tests/support/child_process.h"

namespace syslink::examples::fs::bench {

// A FUSE mount started on first use: the mount, or why there is none. Kept in a static,
// it is destroyed when the benchmark exits, which unmounts and stops its processes.
template <typename Mounted>
struct LazyMount {
  std::unique_ptr<Mounted> mount;
  std::string why;  // "" when mounted
};

// The path `name` in the mount of memfs (syslinkd, memfs and fs_mount), or "" after
// failing `state` with the reason there is none.
std::string MountPath(benchmark::State& state, const std::string& name);

// null_fuse serving a 1 GiB `file`, and files created in its root, at a fresh directory
// until the benchmark exits.
class NullFuse {
 public:
  static absl::StatusOr<std::unique_ptr<NullFuse>> Start();

  ~NullFuse();

  std::string Path(const std::string& name) const { return mountpoint_ + "/" + name; }

 private:
  NullFuse() = default;
  absl::Status Mount();

  std::string parent_;
  std::string mountpoint_;
  std::optional<testing::ChildProcess> server_;
};

enum class Placement { kScheduler, kCallerCpu };

// null_fuse on any CPU, as the mount's processes are, or pinned to the caller's.
const LazyMount<NullFuse>& NullFuseMount(Placement placement);

}  // namespace syslink::examples::fs::bench

#endif  // SYSLINK_EXAMPLES_FS_BENCH_MOUNTS_H_
