// A host that vanishes without a word mid-call (a cable pulled, a machine frozen): its
// connection is found dead by the channel's keepalive pings, however long the call had
// been quiet. A relay between the channel and the server plays the host: it passes the
// bytes both ways until the server has answered two pings, then passes nothing more and
// closes nothing.

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/testdata/interop.syslink.h"
#include "rpc/grpc/testing/served_interop.h"

namespace syslink::rpc {
namespace {

using ::syslink::grpc_testing::ServedInterop;
using ::syslink::grpc_testing::TextOf;
using ::syslink::interop::InteropStub;

constexpr uint8_t kPingFrame = 0x6;  // HTTP/2 frame types and flags (RFC 9113)
constexpr uint8_t kAckFlag = 0x1;
constexpr size_t kFrameHeader = 9;

// Relays one TCP connection from 127.0.0.1:port() to `target_port` until the server has
// acknowledged `acks` pings; from then on it reads both ways and passes nothing.
class SilencingRelay {
 public:
  SilencingRelay(int target_port, int acks) : target_port_(target_port), acks_(acks) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(listen(listener_, 1), 0);
    EXPECT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~SilencingRelay() {
    uint64_t one = 1;
    EXPECT_EQ(write(stop_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    thread_.join();
    for (int fd : {listener_, stop_, client_, server_}) {
      if (fd >= 0) close(fd);
    }
  }

  int port() const { return port_; }
  // Whether it has stopped passing bytes.
  bool silent() const { return silent_.load(); }

 private:
  void Run() {
    if (!WaitReadable(listener_)) return;
    client_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    server_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(target_port_));
    if (client_ < 0 ||
        connect(server_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return;
    }
    std::string from_server;  // bytes of frames not yet whole
    char buffer[16384];
    while (true) {
      struct pollfd fds[3] = {{stop_, POLLIN, 0}, {client_, POLLIN, 0}, {server_, POLLIN, 0}};
      if (poll(fds, 3, -1) < 0) continue;
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) {
        ssize_t n = read(client_, buffer, sizeof(buffer));
        if (n <= 0) return;
        if (!silent_ && !WriteAll(server_, buffer, n)) return;
      }
      if (fds[2].revents != 0) {
        ssize_t n = read(server_, buffer, sizeof(buffer));
        if (n <= 0) return;
        from_server.append(buffer, n);
        if (!PassFrames(from_server)) return;
      }
    }
  }

  // Passes the whole frames at the front of `bytes` to the client, counting the pings
  // acknowledged; false when the client's socket fails.
  bool PassFrames(std::string& bytes) {
    while (bytes.size() >= kFrameHeader) {
      const auto* header = reinterpret_cast<const uint8_t*>(bytes.data());
      const size_t length = (size_t{header[0]} << 16) | (size_t{header[1]} << 8) | header[2];
      if (bytes.size() < kFrameHeader + length) return true;
      const bool ping_ack = header[3] == kPingFrame && (header[4] & kAckFlag) != 0;
      if (!silent_ && !WriteAll(client_, bytes.data(), kFrameHeader + length)) return false;
      if (ping_ack && ++acks_seen_ == acks_) silent_ = true;
      bytes.erase(0, kFrameHeader + length);
    }
    return true;
  }

  bool WaitReadable(int fd) {
    struct pollfd fds[2] = {{stop_, POLLIN, 0}, {fd, POLLIN, 0}};
    while (poll(fds, 2, -1) < 0) {
    }
    return fds[0].revents == 0;
  }

  static bool WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = write(fd, data, size);
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  const int target_port_;
  const int acks_;
  int listener_ = -1;
  int port_ = 0;
  const int stop_ = eventfd(0, EFD_CLOEXEC);
  int client_ = -1;
  int server_ = -1;
  int acks_seen_ = 0;  // the relay's thread's
  std::atomic<bool> silent_{false};
  std::thread thread_;
};

// gRPC sends at most two pings while the client sends no data unless told otherwise: a
// call quiet for longer (a slow method, an idle stream) would never find its host gone.
TEST(KeepaliveTest, AHostGoneSilentMidCallIsFoundByKeepalivePings) {
  absl::StatusOr<std::unique_ptr<ServedInterop>> served = ServedInterop::Start();
  ASSERT_TRUE(served.ok()) << served.status();
  SilencingRelay relay((*served)->server().ports()[0], /*acks=*/2);
  auto channel = std::make_shared<GrpcChannel>(CreateGrpcChannel(
      absl::StrCat("127.0.0.1:", relay.port()),
      {.keepalive_time = absl::Seconds(1), .keepalive_timeout = absl::Seconds(1)}));
  InteropStub stub(channel);
  ClientContext context;
  context.set_deadline(absl::Now() + absl::Seconds(20));  // Hold answers only then
  absl::StatusOr<interop::Text> held = stub.Hold(TextOf("quiet"), &context);
  EXPECT_TRUE(relay.silent());
  EXPECT_EQ(held.status().code(), absl::StatusCode::kUnavailable) << held.status();
}

}  // namespace
}  // namespace syslink::rpc
