#include "examples/fs/bench/summary.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/fs/bench/file_calls.h"

namespace syslink::examples::fs::bench {
namespace {

// Benchmarks' full names: BM_TmpfsWrite/iterations:2/real_time, BM_TmpfsSmallFiles/real_time.
double GigabytesPerSecond(const testing::BenchmarkMedians& m, const char* name) {
  std::string full = absl::StrCat(name, "/iterations:", kBigIterations, "/real_time");
  return m.Get(full).bytes_per_second / 1e9;
}
double FilesPerSecond(const testing::BenchmarkMedians& m, const char* name) {
  return m.Get(absl::StrCat(name, "/real_time")).items_per_second;
}

// "fs <label>: 0.50x the null FUSE mount (no server), 0.40x it on the caller's CPU", or
// nothing when a figure is missing.
void PrintAgainstNull(const std::string& label, double mount, double anywhere, double beside) {
  if (mount == 0 || anywhere == 0 || beside == 0) return;
  std::printf("fs %s: %.2fx the null FUSE mount (no server), %.2fx it on the caller's CPU\n",
              label.c_str(), mount / anywhere, mount / beside);
}

// The 1 GiB writes and reads, each beside the tmpfs floor of its direction, and the
// mount's beside null_fuse's. A line whose benchmarks did not all run is left out.
void PrintBulkSummary(const testing::BenchmarkMedians& m) {
  auto gbps = [&](const char* name) { return GigabytesPerSecond(m, name); };
  const double tmpfs_write = gbps("BM_TmpfsWrite");
  const double tmpfs_read = gbps("BM_TmpfsRead");
  const struct {
    const char* benchmark;
    const char* label;
    bool write;
  } kBulk[] = {
      {"BM_ClientWrite", "client write", true},
      {"BM_ClientRead", "client read", false},
      {"BM_ClientReadOneAtATime", "client read, one call at a time", false},
      {"BM_ClientReadInPlace", "client read in place", false},
      {"BM_MountWrite", "mount write", true},
      {"BM_MountReadCold", "mount read, cold (from the server)", false},
      {"BM_MountReadCached", "mount read, cached (the page cache)", false},
      {"BM_MountReadDirect", "mount read, O_DIRECT (from the server)", false},
      {"BM_NullFuseWrite", "null FUSE mount write (no server)", true},
      {"BM_NullFuseBesideWrite", "null FUSE mount on the writer's CPU write", true},
      {"BM_NullFuseReadCold", "null FUSE mount read, cold (no server)", false},
      {"BM_NullFuseReadDirect", "null FUSE mount read, O_DIRECT (no server)", false},
      {"BM_NullFuseBesideReadCold", "null FUSE mount on the reader's CPU read, cold", false},
      {"BM_NullFuseBesideReadDirect", "null FUSE mount on the reader's CPU read, O_DIRECT", false},
  };
  for (const auto& bulk : kBulk) {
    const double measured = gbps(bulk.benchmark);
    const double floor = bulk.write ? tmpfs_write : tmpfs_read;
    if (measured == 0 || floor == 0) continue;
    std::printf("fs %s: %.2f GB/s = %.2fx tmpfs\n", bulk.label, measured, measured / floor);
  }
  // A cold read fills page-cache pages the kernel has just allocated, as a write of a
  // new tmpfs file does: on a VM whose host takes freed memory back, that fill, not the
  // copy, can set the pace. This ratio shows how close the mount comes to it.
  if (double cold = gbps("BM_MountReadCold"); cold > 0 && tmpfs_write > 0) {
    std::printf(
        "fs mount read, cold: %.2fx tmpfs write of a new file (the cost of filling "
        "new pages)\n",
        cold / tmpfs_write);
  }
  // The same with no server behind the mount: what the kernel's FUSE path leaves for any
  // server, placed by the scheduler and beside the caller.
  const struct {
    const char* mount;
    const char* null;
    const char* beside;
    const char* label;
  } kAgainstNull[] = {
      {"BM_MountWrite", "BM_NullFuseWrite", "BM_NullFuseBesideWrite", "write"},
      {"BM_MountReadCold", "BM_NullFuseReadCold", "BM_NullFuseBesideReadCold", "read, cold"},
      {"BM_MountReadDirect", "BM_NullFuseReadDirect", "BM_NullFuseBesideReadDirect",
       "read, O_DIRECT"},
  };
  for (const auto& row : kAgainstNull) {
    PrintAgainstNull(absl::StrCat("mount ", row.label), gbps(row.mount), gbps(row.null),
                     gbps(row.beside));
  }
}

// create+stat+unlink beside tmpfs, and the mount's beside null_fuse's.
void PrintSmallFilesSummary(const testing::BenchmarkMedians& m) {
  auto rate = [&](const char* name) { return FilesPerSecond(m, name); };
  const double tmpfs = rate("BM_TmpfsSmallFiles");
  const struct {
    const char* benchmark;
    const char* label;
  } kSmall[] = {
      {"BM_ClientSmallFiles", "client small files"},
      {"BM_MountSmallFiles", "mount small files"},
      {"BM_NullFuseSmallFiles", "null FUSE mount small files (no server)"},
      {"BM_NullFuseBesideSmallFiles", "null FUSE mount on the caller's CPU small files"},
  };
  for (const auto& small : kSmall) {
    const double measured = rate(small.benchmark);
    if (measured == 0 || tmpfs == 0) continue;
    std::printf("fs %s: %.0f/s = %.2fx tmpfs\n", small.label, measured, measured / tmpfs);
  }
  PrintAgainstNull("mount small files", rate("BM_MountSmallFiles"), rate("BM_NullFuseSmallFiles"),
                   rate("BM_NullFuseBesideSmallFiles"));
}

}  // namespace

void PrintSummary(const testing::BenchmarkMedians& m) {
  std::printf("\nfloors: tmpfs write %.2f GB/s, read %.2f GB/s, create+stat+unlink %.0f/s\n",
              GigabytesPerSecond(m, "BM_TmpfsWrite"), GigabytesPerSecond(m, "BM_TmpfsRead"),
              FilesPerSecond(m, "BM_TmpfsSmallFiles"));
  PrintBulkSummary(m);
  PrintSmallFilesSummary(m);
}

}  // namespace syslink::examples::fs::bench
