// Two hosts, simulated: memfs and syslink-gateway in one network namespace, fs_mount in
// another, joined only by a veth pair (10.77.0.1 <-> 10.77.0.2). A 64 MiB file goes into the
// mount and back out, byte-exact, and the veth's counters show it crossed the "network".
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), ip(8) and nsenter(1); skipped, saying which
// is missing, where network namespaces cannot be made. The test process itself stays in
// its own namespace and runs cp and cmp on the mount (nsenter --net changes only the
// network namespace, so the FUSE mount is visible to it).

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "examples/fs/fuse/mount_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/connect.h"
#include "tests/support/broker_process.h"
#include "tests/support/registered_service.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::testing::BrokerProcess;
using ::syslink::testing::ChildProcess;
using ::syslink::testing::ConnectWhenRegistered;
using ::syslink::testing::ScratchDirectory;

constexpr char kServiceName[] = "test.examples.fs.two_hosts";
constexpr char kServerAddress[] = "10.77.0.1";
constexpr char kClientAddress[] = "10.77.0.2";
constexpr char kGatewayPort[] = "50051";  // a fresh namespace has every port free
constexpr size_t kFileSize = 64 << 20;

// The bytes the veth end `device` in namespace `netns` has sent, per ip -s link.
absl::StatusOr<uint64_t> SentBytes(const std::string& netns, const std::string& device) {
  ToolRun ip = RunTool({"ip", "-n", netns, "-s", "link", "show", "dev", device});
  if (ip.how != ChildProcess::Exited(0)) return absl::InternalError(ip.err);
  std::vector<std::string> lines = absl::StrSplit(ip.out, '\n');
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (absl::StrContains(lines[i], "TX:")) {
      std::vector<std::string> fields = absl::StrSplit(lines[i + 1], ' ', absl::SkipEmpty());
      uint64_t bytes;
      if (!fields.empty() && absl::SimpleAtoi(fields[0], &bytes)) return bytes;
    }
  }
  return absl::InternalError("no TX counters in: " + ip.out);
}

class TwoHostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MountUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    if (RunTool({"nsenter", "--version"}).how != ChildProcess::Exited(0)) {
      GTEST_SKIP() << "nsenter(1) is not installed: cannot run a process in a network namespace";
    }
    const std::string id = absl::StrCat(getpid() % 100000);
    server_ns_ = "sl-srv-" + id;
    client_ns_ = "sl-cli-" + id;
    server_dev_ = "sls" + id;
    client_dev_ = "slc" + id;
    const std::vector<std::vector<std::string>> setup = {
        {"ip", "netns", "add", server_ns_},
        {"ip", "netns", "add", client_ns_},
        {"ip", "link", "add", server_dev_, "type", "veth", "peer", "name", client_dev_},
        {"ip", "link", "set", server_dev_, "netns", server_ns_},
        {"ip", "link", "set", client_dev_, "netns", client_ns_},
        {"ip", "-n", server_ns_, "addr", "add", absl::StrCat(kServerAddress, "/24"), "dev",
         server_dev_},
        {"ip", "-n", client_ns_, "addr", "add", absl::StrCat(kClientAddress, "/24"), "dev",
         client_dev_},
        {"ip", "-n", server_ns_, "link", "set", server_dev_, "up"},
        {"ip", "-n", client_ns_, "link", "set", client_dev_, "up"},
        {"ip", "-n", server_ns_, "link", "set", "lo", "up"},
        {"ip", "-n", client_ns_, "link", "set", "lo", "up"},
    };
    for (const std::vector<std::string>& command : setup) {
      ToolRun run = RunTool(command);
      if (run.how != ChildProcess::Exited(0)) {
        GTEST_SKIP() << "cannot create network namespaces here (" << absl::StrJoin(command, " ")
                     << ": " << run.how << ", " << run.err << ")";
      }
      created_ = true;
    }
  }

  void TearDown() override {
    mount_.reset();
    if (!mountpoint_.empty() && ForceUnmount(mountpoint_)) {
      rmdir(mountpoint_.c_str());
      rmdir(mountpoint_.substr(0, mountpoint_.rfind('/')).c_str());
    }
    gateway_.reset();
    memfs_.reset();
    unsetenv("SYSLINK_BROKER_SOCKET");
    if (created_) {
      (void)RunTool({"ip", "netns", "del", client_ns_});  // takes the veth pair with it
      (void)RunTool({"ip", "netns", "del", server_ns_});
    }
  }

  // `argv` run with nsenter in network namespace `netns`.
  static std::vector<std::string> In(const std::string& netns, std::vector<std::string> argv) {
    std::vector<std::string> wrapped = {"/usr/bin/nsenter", "--net=/run/netns/" + netns, "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
  }

  std::string Local(const std::string& name) const { return scratch_.path() + "/" + name; }

  bool created_ = false;
  std::string server_ns_, client_ns_, server_dev_, client_dev_;
  ScratchDirectory scratch_{"2hosts"};
  std::string mountpoint_;
  std::optional<ChildProcess> memfs_, gateway_, mount_;
};

TEST_F(TwoHostsTest, CopiesA64MiBFileThroughTheMountByteExact) {
  absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
      BrokerProcess::Start(scratch_.SocketPath());
  ASSERT_TRUE(broker.ok()) << broker.status();

  // The server host: memfs and the gateway.
  setenv("SYSLINK_BROKER_SOCKET", scratch_.SocketPath().c_str(), 1);  // for memfs
  memfs_.emplace(StartDaemon(
      In(server_ns_, {RunfilesPath("examples/fs/memfs"), "--name", kServiceName, "--size", "256M"}),
      Local("memfs.log")));
  absl::StatusOr<std::shared_ptr<rpc::Channel>> registered =
      ConnectWhenRegistered(kServiceName, (*broker)->ConnectOptions(), absl::Seconds(20));
  ASSERT_TRUE(registered.ok()) << registered.status();
  registered->reset();
  const std::string listen = absl::StrCat(kServerAddress, ":", kGatewayPort);
  gateway_.emplace(StartDaemon(
      In(server_ns_, {RunfilesPath("rpc/grpc/gateway/syslink-gateway"), "--listen", listen,
                      "--expose", absl::StrCat("syslink.examples.fs.FileSystem=", kServiceName),
                      "--broker-socket", scratch_.SocketPath()}),
      Local("gateway.log")));

  // The client host: fs_mount over the veth, data not cached by the kernel (every read
  // crosses the network).
  char parent[] = "/tmp/sl-mnt-XXXXXX";
  ASSERT_NE(mkdtemp(parent), nullptr);
  mountpoint_ = std::string(parent) + "/mnt";
  ASSERT_EQ(mkdir(mountpoint_.c_str(), 0755), 0);
  absl::StatusOr<ChildProcess> mount = StartMountDaemon(
      In(client_ns_, {RunfilesPath("examples/fs/fuse/fs_mount"), "--grpc=" + listen, "--wait=20",
                      "--cache=direct", "--foreground", mountpoint_}),
      mountpoint_, Local("fs_mount.log"));
  ASSERT_TRUE(mount.ok()) << mount.status();
  mount_.emplace(*std::move(mount));

  absl::StatusOr<uint64_t> sent_before = SentBytes(client_ns_, client_dev_);
  ASSERT_TRUE(sent_before.ok()) << sent_before.status();
  {
    std::mt19937_64 random(64);
    std::string bytes(kFileSize, '\0');
    for (size_t i = 0; i < bytes.size(); i += 8) {
      const uint64_t word = random();
      std::memcpy(&bytes[i], &word, 8);
    }
    std::ofstream(Local("original"), std::ios::binary) << bytes;
  }
  ToolRun in = RunTool({"cp", Local("original"), mountpoint_ + "/big"}, absl::Seconds(240));
  ASSERT_EQ(in.how, ChildProcess::Exited(0)) << in.err;
  ToolRun out = RunTool({"cp", mountpoint_ + "/big", Local("back")}, absl::Seconds(240));
  ASSERT_EQ(out.how, ChildProcess::Exited(0)) << out.err;
  EXPECT_EQ(RunTool({"cmp", Local("original"), Local("back")}).how, ChildProcess::Exited(0));

  // The file went out of the client's namespace over the veth (and came back in).
  absl::StatusOr<uint64_t> sent_after = SentBytes(client_ns_, client_dev_);
  ASSERT_TRUE(sent_after.ok()) << sent_after.status();
  EXPECT_GE(*sent_after - *sent_before, kFileSize);
}

}  // namespace
}  // namespace syslink::examples::fs
