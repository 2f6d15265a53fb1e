// fs_mount: mounts a file server of examples/fs/fs.proto at a directory with FUSE, through
// FuseBridge (fuse_bridge.h). See kUsage, or `fs_mount --help`.

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/arg_reader.h"
#include "examples/fs/fuse/fuse_bridge.h"
#include "examples/fs/fuse/serve_mounted.h"
#include "examples/fs/fuse/upstream.h"

namespace syslink::examples::fs {
namespace {

constexpr char kUsage[] =
    "usage: fs_mount [OPTIONS] MOUNTPOINT\n"
    "\n"
    "Mounts a file server of examples/fs/fs.proto (memfs, or any server of that protocol),\n"
    "found by name through the syslink broker ($SYSLINK_BROKER_SOCKET picks its socket), at\n"
    "MOUNTPOINT, an existing directory. Runs until unmounted (umount MOUNTPOINT, or\n"
    "fusermount3 -u MOUNTPOINT) or until SIGINT or SIGTERM, which unmount cleanly.\n"
    "\n"
    "  --name=SERVICE       the server's name (default: syslink.examples.fs.memfs)\n"
    "  --grpc=TARGET        reach the server over gRPC at TARGET (HOST:PORT or unix:PATH)\n"
    "                       instead of through the broker: a syslink-gateway exposing it\n"
    "                       on another machine (syslink-gateway --expose\n"
    "                       syslink.examples.fs.FileSystem=NAME), see docs/grpc.md\n"
    "  --grpc-ca=FILE       with --grpc: use TLS, trusting the server certificates this CA\n"
    "                       signed (PEM)\n"
    "  --grpc-cert=FILE     with --grpc-ca: present this client certificate (PEM) ...\n"
    "  --grpc-key=FILE      ... with this key, for a gateway that requires mutual TLS\n"
    "  --foreground, -f     stay in the foreground (default: detach once mounted)\n"
    "  -o OPTIONS           FUSE mount options, comma-separated (allow_other, ro, ...: see\n"
    "                       mount.fuse3(8)); repeatable. Always set: default_permissions,\n"
    "                       max_read=131072.\n"
    "  --threads=N          serve up to N kernel requests at once (N from 1 to 64), over\n"
    "                       N links to the server, on libfuse's multi-threaded loop\n"
    "                       (default: 1, the single-threaded loop: the fastest on two\n"
    "                       cores)\n"
    "  --wait=SECONDS       when the server is not there yet, wait up to SECONDS for it\n"
    "                       before mounting (default: 0, fail at once)\n"
    "  --entry-timeout=S    seconds the kernel caches names (default: 1)\n"
    "  --attr-timeout=S     seconds the kernel caches attributes (default: 1)\n"
    "  --cache=MODE         how the kernel caches file data: keep (default: from one open\n"
    "                       to the next, dropped when the server's mtime or size is seen\n"
    "                       to change, within --attr-timeout), open (dropped at every\n"
    "                       open), direct (not cached: every read and write goes to the\n"
    "                       server; shared writable mmap fails). A file opened\n"
    "                       write-only is written past the page cache (unless\n"
    "                       --writeback)\n"
    "  --writeback          cache writes in the kernel and send them to the server later,\n"
    "                       in larger pieces (FUSE's writeback cache): write(2) returns\n"
    "                       once the page cache holds the bytes, and the server's errors\n"
    "                       (ENOSPC) show at fsync(2) or close(2). Only for a server no\n"
    "                       other client writes to meanwhile: the kernel then trusts its\n"
    "                       own size and times of a file it caches. Not with --cache=direct\n"
    "  --debug, -d          print libfuse's log of every request (implies --foreground)\n"
    "  --help, -h           this text\n"
    "\n"
    "When the server dies, every call through the mount fails with ENOTCONN (\"Transport\n"
    "endpoint is not connected\"), those in flight and later ones at once, until a server\n"
    "of that name is back; fs_mount reconnects by itself. Files and directories the kernel\n"
    "got from the old server then answer ESTALE; paths are looked up again in the new one.\n"
    "\n"
    "Exit status: 0 once unmounted, 1 when it cannot mount (no server, no /dev/fuse, a bad\n"
    "mountpoint, mount refused), 2 for bad usage.\n";

struct Options {
  std::string name = "syslink.examples.fs.memfs";
  std::string grpc_target;
  rpc::TlsFiles grpc_tls;
  std::string mountpoint;
  std::vector<std::string> mount_options;
  bool foreground = false;
  bool debug = false;
  int threads = 1;
  double wait_seconds = 0;
  BridgeOptions bridge;
};

bool ParseSeconds(const std::string& text, double* seconds) {
  return absl::SimpleAtod(text, seconds) && *seconds >= 0 && *seconds < 1e6;
}

// Parses `args` into `options`; false, with a message on stderr, for a bad one.
bool Parse(const std::vector<std::string>& args, Options* options) {
  ArgReader reader(args);
  while (reader.Next()) {
    const std::string& flag = reader.flag();
    if (!reader.is_option()) {
      if (!options->mountpoint.empty()) {
        std::fprintf(stderr, "fs_mount: more than one mountpoint: \"%s\", \"%s\"\n",
                     options->mountpoint.c_str(), reader.arg().c_str());
        return false;
      }
      options->mountpoint = reader.arg();
      continue;
    }
    // Switches.
    bool* on = nullptr;
    if (flag == "--foreground" || flag == "-f") {
      on = &options->foreground;
    } else if (flag == "--debug" || flag == "-d") {
      on = &options->debug;
    } else if (flag == "--writeback") {
      on = &options->bridge.writeback;
    } else if (flag.starts_with("-o") && flag.size() > 2) {  // -oOPTIONS
      options->mount_options.push_back(flag.substr(2));
      continue;
    }
    if (on != nullptr) {
      if (reader.has_attached_value()) {
        std::fprintf(stderr, "fs_mount: %s takes no value\n", flag.c_str());
        return false;
      }
      *on = true;
      if (on == &options->debug) options->foreground = true;
      continue;
    }
    // Options with a value.
    static constexpr const char* kValued[] = {
        "--cache", "--name",    "--grpc", "--grpc-ca",       "--grpc-cert",    "--grpc-key",
        "-o",      "--threads", "--wait", "--entry-timeout", "--attr-timeout",
    };
    if (std::find(std::begin(kValued), std::end(kValued), flag) == std::end(kValued)) {
      std::fprintf(stderr, "fs_mount: unknown option \"%s\"\n", reader.arg().c_str());
      return false;
    }
    std::optional<std::string> given = reader.Value();
    if (!given.has_value()) {
      std::fprintf(stderr, "fs_mount: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string& value = *given;
    bool ok = !value.empty();
    if (flag == "--cache") {
      if (value == "keep") {
        options->bridge.cache = DataCache::kKeep;
      } else if (value == "open") {
        options->bridge.cache = DataCache::kPerOpen;
      } else if (value == "direct") {
        options->bridge.cache = DataCache::kDirect;
      } else {
        ok = false;
      }
    } else if (flag == "--name") {
      options->name = value;
    } else if (flag == "--grpc") {
      options->grpc_target = value;
    } else if (flag == "--grpc-ca") {
      options->grpc_tls.ca_file = value;
    } else if (flag == "--grpc-cert") {
      options->grpc_tls.cert_file = value;
    } else if (flag == "--grpc-key") {
      options->grpc_tls.key_file = value;
    } else if (flag == "-o") {
      options->mount_options.push_back(value);
    } else if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &options->threads) && options->threads >= 1 &&
           options->threads <= 64;
    } else if (flag == "--wait") {
      ok = ParseSeconds(value, &options->wait_seconds);
    } else if (flag == "--entry-timeout") {
      ok = ParseSeconds(value, &options->bridge.entry_timeout_seconds);
    } else if (flag == "--attr-timeout") {
      ok = ParseSeconds(value, &options->bridge.attr_timeout_seconds);
    }
    if (!ok) {
      std::fprintf(stderr, "fs_mount: bad value for %s: \"%s\"\n", flag.c_str(), value.c_str());
      return false;
    }
  }
  if (options->mountpoint.empty()) {
    std::fprintf(stderr, "fs_mount: no mountpoint given\n");
    return false;
  }
  if (options->bridge.writeback && options->bridge.cache == DataCache::kDirect) {
    std::fprintf(stderr, "fs_mount: --writeback caches writes, --cache=direct caches none\n");
    return false;
  }
  const rpc::TlsFiles& tls = options->grpc_tls;
  if (options->grpc_target.empty() &&
      !(tls.ca_file.empty() && tls.cert_file.empty() && tls.key_file.empty())) {
    std::fprintf(stderr, "fs_mount: --grpc-ca, --grpc-cert and --grpc-key need --grpc\n");
    return false;
  }
  return true;
}

// Checks what can be checked before mounting; false with a message on stderr.
bool CheckMountable(const Options& options) {
  struct stat st;
  if (stat(options.mountpoint.c_str(), &st) != 0) {
    std::fprintf(stderr, "fs_mount: mountpoint %s: %s\n", options.mountpoint.c_str(),
                 std::strerror(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "fs_mount: mountpoint %s is not a directory\n",
                 options.mountpoint.c_str());
    return false;
  }
  if (stat("/dev/fuse", &st) != 0) {
    std::fprintf(stderr,
                 "fs_mount: /dev/fuse: %s (is the fuse kernel module loaded? a container "
                 "needs --device /dev/fuse)\n",
                 std::strerror(errno));
    return false;
  }
  return true;
}

// Detaches from the terminal: the parent waits until the child has mounted (or failed) and
// exits with its outcome. Returns, in the child, the descriptor to report success on.
int Detach() {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    std::perror("fs_mount: pipe");
    std::exit(1);
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fs_mount: fork");
    std::exit(1);
  }
  if (child > 0) {
    close(report[1]);
    char mounted = 0;
    if (read(report[0], &mounted, 1) == 1) std::exit(0);
    int status = 0;
    waitpid(child, &status, 0);  // it failed and said why on stderr
    std::exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
  }
  close(report[0]);
  setsid();
  return report[1];
}

// Tells the waiting parent that the mount is up, and lets go of the terminal.
void ReportMounted(int report_fd) {
  const char mounted = 1;
  (void)!write(report_fd, &mounted, 1);
  close(report_fd);
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null, fd);
    close(null);
  }
  (void)!chdir("/");
}

// The upstream, once connected (waiting up to --wait for the server); null, with a message
// on stderr, when it could not connect.
std::unique_ptr<Upstream> ConnectUpstream(const Options& options) {
  UpstreamOptions upstream_options;
  upstream_options.service_name = options.grpc_target.empty() ? options.name : options.grpc_target;
  upstream_options.channels = options.threads;
  upstream_options.grpc_target = options.grpc_target;
  upstream_options.grpc_tls = options.grpc_tls;
  std::unique_ptr<Upstream> upstream = Upstream::Start(upstream_options);
  if (upstream->WaitConnected(absl::Now() + absl::Seconds(options.wait_seconds))) return upstream;
  std::fprintf(stderr, "fs_mount: cannot reach the file server \"%s\": %s%s\n",
               upstream_options.service_name.c_str(), upstream->last_error().ToString().c_str(),
               options.wait_seconds > 0 ? "" : " (start it first, or pass --wait=SECONDS)");
  return nullptr;
}

int Mount(const Options& options) {
  const int report_fd = options.foreground ? -1 : Detach();
  std::unique_ptr<Upstream> upstream = ConnectUpstream(options);
  if (upstream == nullptr) return 1;
  FuseBridge bridge(upstream.get(), options.bridge);

  std::vector<std::string> args = {
      "fs_mount", "-o",
      absl::StrCat("default_permissions,max_read=", kMaxIoSize, ",fsname=syslink:",
                   options.grpc_target.empty() ? options.name : "grpc", ",subtype=syslink")};
  for (const std::string& o : options.mount_options) args.insert(args.end(), {"-o", o});
  if (options.debug) args.push_back("-d");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  fuse_args fuse_argv = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* session =
      fuse_session_new(&fuse_argv, &FuseBridge::Ops(), sizeof(fuse_lowlevel_ops), &bridge);
  fuse_opt_free_args(&fuse_argv);
  if (session == nullptr) {
    std::fprintf(stderr, "fs_mount: bad mount options (libfuse said why above)\n");
    return 1;
  }
  return ServeMounted(session, options.mountpoint,
                      {.program = "fs_mount", .threads = options.threads, .mounted = [&] {
                         if (options.foreground) {
                           std::fprintf(stderr, "fs_mount: %s mounted at %s\n",
                                        options.name.c_str(), options.mountpoint.c_str());
                         } else {
                           ReportMounted(report_fd);
                         }
                       }});
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
  if (!CheckMountable(options)) return 1;
  return Mount(options);
}
