// memfs: serves an in-memory filesystem (fs.proto) through the syslink broker until
// SIGINT or SIGTERM. See kUsage, or `memfs --help`.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/arg_reader.h"
#include "base/parse_octal.h"
#include "examples/fs/memfs_service.h"
#include "examples/fs/serve_until_stopped.h"
#include "ring/wait_mode.h"

namespace syslink::examples::fs {
namespace {

constexpr char kUsage[] =
    "usage: memfs [OPTIONS]\n"
    "\n"
    "Serves an empty in-memory filesystem (examples/fs/fs.proto) through the syslink\n"
    "broker until SIGINT or SIGTERM; everything in it is gone when it stops. Its root is\n"
    "owned by the user running memfs. Clients (the `fs` CLI, a FUSE bridge) call it by\n"
    "name; permissions are checked against the uid, gid and supplementary groups the\n"
    "broker attests. A client that serves others (fs_mount) may name the caller of each\n"
    "call; that is believed from root and the --trust-uid users only, and any other\n"
    "client that tries is refused (PERMISSION_DENIED) and logged here. A broker is\n"
    "started on demand if none runs ($SYSLINK_BROKER_SOCKET picks its socket).\n"
    "\n"
    "  --name NAME         register as NAME (default: syslink.examples.fs.memfs)\n"
    "  --size BYTES        file data held at most, with a K, M or G suffix (default: 4G)\n"
    "  --inodes N          files at most (default: 1048576)\n"
    "  --root-mode OCTAL   the root directory's permission bits (default: 0755)\n"
    "  --allow-uid UID     let this user connect too (repeatable; the default lets only\n"
    "                      the user running memfs, and root)\n"
    "  --allow-gid GID     let members of this group connect (repeatable)\n"
    "  --trust-uid UID     believe this user, besides root, when it calls for others\n"
    "                      (repeatable; e.g. the user running fs_mount -o allow_other)\n"
    "  --workers N         run calls on a pool of N threads (default: 0: each client's\n"
    "                      calls run one at a time on the thread serving its link).\n"
    "                      Without workers, the piece a sequential reader will ask for\n"
    "                      next (as large as its last, at most 128 KiB) is read ahead\n"
    "                      while it takes the last; with workers, nothing is read ahead\n"
    "  --wait MODE         how both sides of each client's link wait for messages:\n"
    "                      hybrid (spin a while, then sleep; the default), spin, or\n"
    "                      blocking (always sleep: no CPU spent spinning; each message\n"
    "                      wakes the other side)\n"
    "  --help              this text\n"
    "\n"
    "Options take their value as --name=NAME or --name NAME.\n";

struct Options {
  ServingOptions serving = {.name = std::string(MemFs::kDefaultName)};
  MemTreeOptions tree;
  std::vector<uid_t> trusted_uids;
};

bool ParseSize(std::string text, uint64_t* bytes) {
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        scale = uint64_t{1} << 10;
        break;
      case 'M':
      case 'm':
        scale = uint64_t{1} << 20;
        break;
      case 'G':
      case 'g':
        scale = uint64_t{1} << 30;
        break;
      default:
        scale = 0;
    }
    if (scale != 0) text.pop_back();
    if (scale == 0) scale = 1;
  }
  uint64_t count;
  if (!absl::SimpleAtoi(text, &count) || count > ~uint64_t{0} / scale) return false;
  *bytes = count * scale;
  return true;
}

// Parses `args` into `options`; false, with a message on stderr, for a bad one.
bool Parse(const std::vector<std::string>& args, Options* options) {
  static constexpr const char* kFlags[] = {"--name",      "--size",      "--inodes",
                                           "--root-mode", "--allow-uid", "--allow-gid",
                                           "--trust-uid", "--workers",   "--wait"};
  ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (!reader.is_option()) {
      std::fprintf(stderr, "memfs: unexpected argument \"%s\"\n", reader.arg().c_str());
      return false;
    }
    if (std::find(std::begin(kFlags), std::end(kFlags), flag) == std::end(kFlags)) {
      std::fprintf(stderr, "memfs: unknown option \"%s\"\n", flag.c_str());
      return false;
    }
    std::optional<std::string> given = reader.Value();
    if (!given.has_value()) {
      std::fprintf(stderr, "memfs: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string& value = *given;
    uint64_t number = 0;
    bool ok = true;
    if (flag == "--name") {
      options->serving.name = value;
      ok = !value.empty();
    } else if (flag == "--size") {
      ok = ParseSize(value, &options->tree.capacity_bytes);
    } else if (flag == "--inodes") {
      ok = absl::SimpleAtoi(value, &options->tree.max_inodes) && options->tree.max_inodes > 0;
    } else if (flag == "--root-mode") {
      ok = ParseOctal(value, 07777, &options->tree.root_mode);
    } else if (flag == "--allow-uid" || flag == "--allow-gid") {
      ok = absl::SimpleAtoi(value, &number) && number <= 0xffffffffu;
      (flag == "--allow-uid" ? options->serving.policy.allowed_uids
                             : options->serving.policy.allowed_gids)
          .push_back(static_cast<uint32_t>(number));
    } else if (flag == "--trust-uid") {
      ok = absl::SimpleAtoi(value, &number) && number <= 0xffffffffu;
      options->trusted_uids.push_back(static_cast<uid_t>(number));
    } else if (flag == "--workers") {
      ok = absl::SimpleAtoi(value, &options->serving.workers) && options->serving.workers >= 0;
    } else if (flag == "--wait") {
      ok = false;
      for (ring::WaitMode mode :
           {ring::WaitMode::kHybrid, ring::WaitMode::kSpin, ring::WaitMode::kBlocking}) {
        if (value == ring::WaitModeName(mode)) {
          options->serving.link.wait.mode = mode;
          ok = true;
        }
      }
    }
    if (!ok) {
      std::fprintf(stderr, "memfs: bad value for %s: \"%s\"\n", flag.c_str(), value.c_str());
      return false;
    }
  }
  return true;
}

int Serve(Options options) {
  options.tree.root_uid = getuid();
  options.tree.root_gid = getgid();
  MemFs memfs(options.tree, options.trusted_uids);
  std::string announce = absl::StrCat("(pid ", getpid(), ", ", options.tree.capacity_bytes,
                                      " bytes, ", options.tree.max_inodes, " inodes)");
  return ServeUntilStopped("memfs", &memfs, std::move(options.serving), announce);
}

}  // namespace
}  // namespace syslink::examples::fs

int main(int argc, char** argv) {
  using namespace syslink::examples::fs;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  Options options;
  if (!Parse(args, &options)) {
    std::fprintf(stderr, "\n%s", kUsage);
    return 2;
  }
  return Serve(std::move(options));
}
