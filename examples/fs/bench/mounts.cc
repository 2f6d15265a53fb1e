#include "examples/fs/bench/mounts.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "examples/fs/bench/file_calls.h"
#include "examples/fs/fuse/mount_testing.h"

namespace syslink::examples::fs::bench {
namespace {

using ::syslink::testing::ChildProcess;

// What `start()` returns, run with this process unpinned: the processes it starts inherit
// this one's CPU, and should run on every CPU, as they would.
template <typename Start>
auto Unpinned(Start start) {
  cpu_set_t pinned;
  sched_getaffinity(0, sizeof(pinned), &pinned);
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
  sched_setaffinity(0, sizeof(all), &all);
  auto started = start();
  sched_setaffinity(0, sizeof(pinned), &pinned);
  return started;
}

// What `start()` (an absl::StatusOr<std::unique_ptr<Mounted>>) gives, where FUSE can be
// mounted here.
template <typename Mounted, typename Start>
LazyMount<Mounted> StartMount(Start start) {
  LazyMount<Mounted> result{nullptr, MountUnavailableReason()};
  if (!result.why.empty()) return result;
  absl::StatusOr<std::unique_ptr<Mounted>> started = start();
  if (started.ok()) {
    result.mount = *std::move(started);
  } else {
    result.why = started.status().ToString();
  }
  return result;
}

// syslinkd, memfs and fs_mount.
const LazyMount<MountedMemfs>& MemfsMount() {
  static LazyMount<MountedMemfs> memfs = StartMount<MountedMemfs>([] {
    return Unpinned([] { return MountedMemfs::Start({}, {"--size", "2G"}, absl::Hours(2)); });
  });
  return memfs;
}

}  // namespace

std::string MountPath(benchmark::State& state, const std::string& name) {
  const LazyMount<MountedMemfs>& memfs = MemfsMount();
  if (memfs.mount == nullptr) {
    Fail(state, "no FUSE mount: " + memfs.why);
    return "";
  }
  return memfs.mount->Path(name);
}

absl::StatusOr<std::unique_ptr<NullFuse>> NullFuse::Start() {
  std::unique_ptr<NullFuse> mount(new NullFuse);
  if (absl::Status s = mount->Mount(); !s.ok()) return s;
  return mount;
}

NullFuse::~NullFuse() {
  if (server_.has_value()) {
    server_->Kill(SIGTERM);  // it unmounts
    (void)server_->WaitFor(absl::Seconds(20));
  }
  if (!mountpoint_.empty() && ForceUnmount(mountpoint_)) rmdir(mountpoint_.c_str());
  if (!parent_.empty()) {
    unlink((parent_ + "/null_fuse.log").c_str());
    rmdir(parent_.c_str());
  }
}

absl::Status NullFuse::Mount() {
  char parent[] = "/tmp/sl-null-fuse-XXXXXX";
  if (mkdtemp(parent) == nullptr) return absl::InternalError("mkdtemp failed");
  parent_ = parent;
  if (mkdir((parent_ + "/mnt").c_str(), 0755) != 0) return absl::InternalError("mkdir failed");
  mountpoint_ = parent_ + "/mnt";
  absl::StatusOr<ChildProcess> server =
      StartMountDaemon({RunfilesPath("examples/fs/bench/null_fuse"),
                        absl::StrCat("--size=", kFileSize), mountpoint_},
                       mountpoint_, parent_ + "/null_fuse.log");
  if (!server.ok()) return server.status();
  server_.emplace(*std::move(server));
  return absl::OkStatus();
}

const LazyMount<NullFuse>& NullFuseMount(Placement placement) {
  if (placement == Placement::kScheduler) {
    static LazyMount<NullFuse> anywhere =
        StartMount<NullFuse>([] { return Unpinned(NullFuse::Start); });
    return anywhere;
  }
  static LazyMount<NullFuse> beside = StartMount<NullFuse>(NullFuse::Start);
  return beside;
}

}  // namespace syslink::examples::fs::bench
