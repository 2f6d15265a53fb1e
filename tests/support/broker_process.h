// Support for tests that run syslinkd as a real process: a broker of the test's own, a short
// directory for its socket, raw connections to it, and what /proc says about a process.
//
//   ScratchDirectory dir("death");                       // /tmp/sl-death-<pid>-<n>
//   absl::StatusOr<std::unique_ptr<BrokerProcess>> broker =
//       BrokerProcess::Start(dir.SocketPath());
//   absl::StatusOr<Link> link = ConnectToService("echo", (*broker)->ConnectOptions());
//   ...
//   EXPECT_EQ((*broker)->Stop(), ChildProcess::Exited(0));
//
// The broker is the //syslink/broker:syslinkd binary (a `data` dependency of the test),
// executed in a forked child with no descriptor of the test's but stdio: a copy of a link
// end kept open in the broker would hide that end's closing from its peer. It gets SIGKILL
// if the test process dies first (PR_SET_PDEATHSIG).
//
// Thread safety: one thread at a time. Ownership: a BrokerProcess not stopped is killed
// (SIGKILL) and reaped when destroyed; a ScratchDirectory removes everything in it.

#ifndef SYSLINK_TESTS_SUPPORT_BROKER_PROCESS_H_
#define SYSLINK_TESTS_SUPPORT_BROKER_PROCESS_H_

#include <sys/mman.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "syslink/broker/client.h"
#include "syslink/broker/control_messages.h"
#include "tests/support/child_process.h"
#include "tests/support/proc_state.h"  // ProcessState(), CpuTime() of a broker

namespace syslink::testing {

// A directory /tmp/sl-<tag>-<pid>-<n>, short enough for a Unix socket path inside it (at
// most 107 bytes; TEST_TMPDIR can be longer). Created with exactly `mode`, removed with
// everything in it when destroyed.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(absl::string_view tag, mode_t mode = 0700);
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  ~ScratchDirectory();

  const std::string& path() const { return path_; }
  std::string SocketPath() const { return path_ + "/broker.sock"; }

 private:
  std::string path_;
};

// syslinkd, run from the test's runfiles in a child process.
class BrokerProcess {
 public:
  // Runs `syslinkd --socket socket_path extra_args...` and waits until it answers a
  // listing (UNAVAILABLE if it does not within `timeout`, or if it exits). A
  // `descriptor_limit` other than 0 becomes its RLIMIT_NOFILE (soft and hard).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BrokerProcess>> Start(
      const std::string& socket_path, const std::vector<std::string>& extra_args = {},
      absl::Duration timeout = absl::Seconds(10), uint64_t descriptor_limit = 0);

  pid_t pid() const { return process_->pid(); }
  const std::string& socket_path() const { return socket_path_; }

  // Options that reach this broker and never start another.
  broker::BrokerConnectOptions ConnectOptions(absl::Duration timeout = absl::Seconds(10)) const;

  // kill -9, and reaps it.
  void Kill();
  // SIGTERM, and how it ended ("exited 0" after a clean stop; "killed by signal 6" when a
  // sanitizer found something at exit).
  std::string Stop();
  // How it ended by itself (syslinkd --idle-exit), waiting up to `timeout` for it; killed
  // and so described after that.
  std::string WaitForExit(absl::Duration timeout);

 private:
  BrokerProcess(ChildProcess process, std::string socket_path)
      : process_(std::move(process)), socket_path_(std::move(socket_path)) {}
  std::optional<ChildProcess> process_;
  std::string socket_path_;
};

// Kills, when destroyed, every broker of `socket_path` that auto-start ran (client.h), from
// an installed syslinkd or a re-executed program; they are no children of the test's (see
// EmbeddedBrokersFor). Declare it after the ScratchDirectory holding the socket.
class AutoStartedBrokers {
 public:
  explicit AutoStartedBrokers(std::string socket_path) : socket_path_(std::move(socket_path)) {}
  AutoStartedBrokers(const AutoStartedBrokers&) = delete;
  AutoStartedBrokers& operator=(const AutoStartedBrokers&) = delete;
  ~AutoStartedBrokers();

 private:
  std::string socket_path_;
};

// Where `path`, a file of the workspace such as a `data` dependency's binary
// ("tests/broker_user"), is in the runfiles tree.
std::string RunfilePath(const std::string& path);

// Where the syslinkd binary is: syslink/broker/syslinkd in the runfiles tree.
std::string SyslinkdPath();

// What syslinkctl (//syslink/broker:syslinkctl, a `data` dependency) printed on stdout for
// the broker at `socket_path` with `args`, and how it ended ("exited 0"). It is killed
// after `timeout`.
struct SyslinkctlOutput {
  std::string printed;
  std::string ended;
};
SyslinkctlOutput RunSyslinkctl(const std::string& socket_path,
                               const std::vector<std::string>& args = {},
                               absl::Duration timeout = absl::Seconds(10));

// The broker's listing, waiting up to `timeout` for a broker to answer at `socket_path`;
// never starts one.
[[nodiscard]] absl::StatusOr<broker::Listing> ListBrokerAt(
    const std::string& socket_path, absl::Duration timeout = absl::Seconds(10));

// A client's link to `name` and the server's end of it. ConnectToService runs on a thread
// of its own while `service` accepts on this one: a connect returns only once the server
// has admitted the link, so a test that is both client and server needs the two at once.
// `server` is DEADLINE_EXCEEDED (after `timeout`) when no link came, e.g. because the
// connect was refused.
struct ConnectedPair {
  absl::StatusOr<broker::OutgoingLink> client;
  absl::StatusOr<broker::IncomingLink> server;
};
ConnectedPair ConnectAndAccept(broker::ServiceRegistration& service, const std::string& name,
                               const broker::BrokerConnectOptions& options,
                               absl::Duration timeout = absl::Seconds(10));

// A raw SOCK_SEQPACKET connection to the broker socket (blocking); invalid if connect fails.
UniqueFd DialRaw(const std::string& socket_path);

// Sends `bytes` as one packet with `fds` attached (SCM_RIGHTS). False if sendmsg fails.
bool SendRaw(int socket, std::span<const std::byte> bytes, std::span<const int> fds = {});

// A control header followed by `body`, with the body length the header states given
// separately so that it can lie.
std::vector<std::byte> ControlBytes(uint16_t type, uint32_t sequence,
                                    std::span<const std::byte> body, uint32_t stated_length);
std::vector<std::byte> ControlBytes(broker::ControlType type, uint32_t sequence,
                                    std::span<const std::byte> body);

// Processes that have `path` open (scanning /proc/*/fd).
std::vector<pid_t> PidsHoldingOpen(const std::string& path);

// Processes auto-start ran as a broker for `socket_path` (a re-executed program or an
// installed syslinkd), whether serving or about to exit because another one serves: their
// initial environment (/proc/<pid>/environ, which unsetenv() does not change) holds
// SYSLINK_EMBEDDED_BROKER=<socket_path>. Zombies have none and are not counted.
std::vector<pid_t> EmbeddedBrokersFor(const std::string& socket_path);

// VmRSS of `pid` in KiB, or -1.
int64_t ResidentKiB(pid_t pid);

// VmHWM of `pid` in KiB (the most it was ever resident), or -1.
int64_t PeakResidentKiB(pid_t pid);

// Whether `pid` is stopped (SIGSTOP), waiting up to `timeout`.
bool WaitUntilStopped(pid_t pid, absl::Duration timeout);

// Whether `pid` has exited (a zombie counts), waiting up to `timeout`. For processes that
// are not this process's children; ChildProcess::WaitFor is for those.
bool WaitUntilGone(pid_t pid, absl::Duration timeout);

// An object in memory shared with every child forked afterwards (MAP_SHARED |
// MAP_ANONYMOUS), for children to report through. T must be trivially destructible.
template <typename T>
class Shared {
 public:
  Shared() {
    void* memory =
        mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) std::abort();
    object_ = new (memory) T();
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  ~Shared() { munmap(object_, sizeof(T)); }

  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }

 private:
  T* object_;
};

// A status a forked child reports, in memory shared with its parent (Shared<SharedStatus>).
class SharedStatus {
 public:
  void Set(const absl::Status& status);
  // UNKNOWN "not reported" until Set().
  absl::Status Get() const;
  bool reported() const { return code_.load() != -1; }

 private:
  std::atomic<int> code_{-1};
  char message_[1024] = {};
};

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_BROKER_PROCESS_H_
