// fs: a command-line client of a file service (fs.proto), found by name through the
// syslink broker. See kUsage, or `fs --help`.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "base/arg_reader.h"
#include "examples/fs/fs_client.h"
#include "examples/fs/fs_commands.h"
#include "examples/fs/memfs_service.h"
#include "rpc/connect.h"

namespace syslink::examples::fs {
namespace {

constexpr char kUsage[] =
    "usage: fs [--service NAME] COMMAND ARGS...\n"
    "\n"
    "Talks to a file service (examples/fs/fs.proto) registered with the syslink broker,\n"
    "as this user: the server checks permissions against the uid and gid the broker\n"
    "attests. A broker is started on demand if none runs ($SYSLINK_BROKER_SOCKET picks\n"
    "its socket).\n"
    "\n"
    "  --service NAME   the service to use (default: syslink.examples.fs.memfs, what\n"
    "                   `memfs` registers)\n"
    "  --help           this text\n"
    "\n";

int Main(const std::vector<std::string>& argv) {
  std::string service(MemFs::kDefaultName);
  std::vector<std::string> args;  // the command and its arguments
  ArgReader reader(argv);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (!reader.is_option()) {  // the command: its words are taken as they are
      args.push_back(reader.arg());
      args.insert(args.end(), reader.rest().begin(), reader.rest().end());
      break;
    }
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::fputs(kFsCommandsHelp, stdout);
      return 0;
    }
    if (flag != "--service") {
      std::fprintf(stderr, "fs: unknown option \"%s\"\n\n%s%s", reader.arg().c_str(), kUsage,
                   kFsCommandsHelp);
      return 2;
    }
    std::optional<std::string> value = reader.Value();
    if (!value.has_value()) {
      std::fprintf(stderr, "fs: --service needs a value\n\n%s%s", kUsage, kFsCommandsHelp);
      return 2;
    }
    service = *value;
  }
  if (args.empty() || args[0] == "help") {
    std::fprintf(args.empty() ? stderr : stdout, "%s%s", kUsage, kFsCommandsHelp);
    return args.empty() ? 2 : 0;
  }
  absl::StatusOr<std::shared_ptr<rpc::Channel>> channel = rpc::ConnectChannel(service);
  if (!channel.ok()) {
    std::fprintf(stderr, "fs: cannot reach %s: %s\n", service.c_str(),
                 channel.status().ToString().c_str());
    return 1;
  }
  FsClient fs(*channel);
  if (absl::StatusOr<InitResponse> init = fs.Init(); !init.ok()) {
    std::fprintf(stderr, "fs: %s does not speak this protocol: %s\n", service.c_str(),
                 init.status().ToString().c_str());
    return 1;
  }
  return RunFsCommand(fs, args, stdout, stderr);
}

}  // namespace
}  // namespace syslink::examples::fs

int main(int argc, char** argv) {
  return syslink::examples::fs::Main(std::vector<std::string>(argv + 1, argv + argc));
}
