// passthrough: serves a host directory as the file service (fs.proto) through the syslink
// broker until SIGINT or SIGTERM. See kUsage, or `passthrough --help`.

#include <sys/stat.h>
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
#include "examples/fs/passthrough/passthrough_service.h"
#include "examples/fs/serve_until_stopped.h"

namespace syslink::examples::fs {
namespace {

constexpr char kUsage[] =
    "usage: passthrough [OPTIONS] DIR\n"
    "\n"
    "Serves the host directory DIR as a file service (examples/fs/fs.proto) through the\n"
    "syslink broker until SIGINT or SIGTERM. Clients (the `fs` CLI, a FUSE bridge) call it\n"
    "by name and see DIR as their root; no name they send leads out of DIR, and symlinks\n"
    "in it are shown, never followed. A broker is started on demand if none runs\n"
    "($SYSLINK_BROKER_SOCKET picks its socket).\n"
    "\n"
    "Permissions are the host's, for the uid and gid the broker attests for each caller.\n"
    "Run as root, passthrough acts as each caller (per-thread fsuid and fsgid): the kernel\n"
    "checks every access and new files belong to the caller. Run as another user, it\n"
    "checks each access itself, then acts as that user: new files belong to it.\n"
    "Supplementary groups count. A client that serves others (fs_mount) may name the\n"
    "caller of each call; that is believed from root and the --trust-uid users only, and\n"
    "any other client that tries is refused (PERMISSION_DENIED) and logged here.\n"
    "\n"
    "  --name NAME       register as NAME (default: syslink.examples.fs.passthrough)\n"
    "  --allow-uid UID   let this user connect too (repeatable; the default lets only the\n"
    "                    user running passthrough, and root)\n"
    "  --allow-gid GID   let members of this group connect (repeatable)\n"
    "  --trust-uid UID   believe this user, besides root, when it calls for others\n"
    "                    (repeatable; e.g. the user running fs_mount -o allow_other)\n"
    "  --workers N       run calls on a pool of N threads (default: 0: each client's calls\n"
    "                    run one at a time on the thread serving its link)\n"
    "  --check-access    check accesses in the server and act as its own user, even as root\n"
    "  --help            this text\n"
    "\n"
    "Options take their value as --name=NAME or --name NAME.\n";

struct Options {
  std::string dir;
  ServingOptions serving = {.name = std::string(PassthroughFs::kDefaultName)};
  CallerAccess access = DefaultCallerAccess();
  std::vector<uint32_t> trusted_uids;
};

bool ParseId(const std::string& text, std::vector<uint32_t>* ids) {
  uint32_t id;
  if (!absl::SimpleAtoi(text, &id)) return false;
  ids->push_back(id);
  return true;
}

// Applies option `flag` with `value`; false for a bad value.
bool Apply(const std::string& flag, const std::string& value, Options* options) {
  if (flag == "--name") {
    options->serving.name = value;
    return !value.empty();
  }
  if (flag == "--allow-uid") return ParseId(value, &options->serving.policy.allowed_uids);
  if (flag == "--allow-gid") return ParseId(value, &options->serving.policy.allowed_gids);
  if (flag == "--trust-uid") return ParseId(value, &options->trusted_uids);
  if (flag == "--workers") {
    return absl::SimpleAtoi(value, &options->serving.workers) && options->serving.workers >= 0;
  }
  return false;
}

// Parses `args` into `options`; false, with a message on stderr, for a bad one.
bool Parse(const std::vector<std::string>& args, Options* options) {
  static constexpr const char* kValued[] = {"--name", "--allow-uid", "--allow-gid", "--trust-uid",
                                            "--workers"};
  std::vector<std::string> dirs;
  ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (!reader.is_option()) {
      dirs.push_back(reader.arg());
    } else if (flag == "--check-access") {
      if (reader.has_attached_value()) {
        std::fprintf(stderr, "passthrough: --check-access takes no value\n");
        return false;
      }
      options->access = CallerAccess::kCheckAsServer;
    } else if (std::find(std::begin(kValued), std::end(kValued), flag) == std::end(kValued)) {
      std::fprintf(stderr, "passthrough: unknown option \"%s\"\n", reader.arg().c_str());
      return false;
    } else if (std::optional<std::string> value = reader.Value(); !value.has_value()) {
      std::fprintf(stderr, "passthrough: %s needs a value\n", flag.c_str());
      return false;
    } else if (!Apply(flag, *value, options)) {
      std::fprintf(stderr, "passthrough: bad value for %s: \"%s\"\n", flag.c_str(), value->c_str());
      return false;
    }
  }
  if (dirs.size() != 1) {
    std::fprintf(stderr, "passthrough: %s\n",
                 dirs.empty() ? "no directory to serve" : "more than one directory");
    return false;
  }
  options->dir = dirs[0];
  return true;
}

int Serve(Options options) {
  absl::StatusOr<std::unique_ptr<PassthroughFs>> fs = PassthroughFs::Open(
      options.dir, {.access = options.access,
                    .trusted_uids = {options.trusted_uids.begin(), options.trusted_uids.end()}});
  if (!fs.ok()) {
    std::fprintf(stderr, "passthrough: %s\n", std::string(fs.status().message()).c_str());
    return 1;
  }
  umask(0);  // clients send modes with their own umask applied
  std::string announce =
      absl::StrCat("(", options.dir, ", pid ", getpid(), ", ",
                   options.access == CallerAccess::kActAsCaller ? "acting as each caller"
                                                                : "checking each caller",
                   ")");
  return ServeUntilStopped("passthrough", fs->get(), std::move(options.serving), announce);
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
