// link_peer: the far end of a link in a process of its own, started with exec() by
// tests/link_exec_peer_test.cc.
//
//   link_peer <socket-fd>
//
// Receives a link end with ReceiveEnd() on the inherited Unix socket <socket-fd> (the
// test sends it with SendEnd(), so the end's descriptors arrive by SCM_RIGHTS), then
// answers requests until the link closes:
//
//   1  echo:  replies with the request's inline payload
//   2  sum:   replies with the sum of the bytes of the to-target buffer, 8 bytes, in
//             memory order
//   3  fill:  fills the whole from-target buffer, byte i = i % 251, and replies with
//             filled = its size
//   4  exits with exit(0) without replying
//   5  exits with _exit(0) without replying, at once
//   6  hold:  never replies (the test kills the peer)
//
// Other commands are answered with UNIMPLEMENTED. The test keeps its own copy of these
// numbers; the two must agree.
//
// Exits 0 when the link closes (PEER_DIED: the test closed its end), 2 for bad arguments,
// and another non-zero code, with a line on stderr, for anything unexpected.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "syslink/end_transfer.h"
#include "syslink/link.h"
#include "syslink/status.h"

namespace syslink {
namespace {

enum PeerCommand : uint32_t {
  kEcho = 1,
  kSum = 2,
  kFill = 3,
  kExit = 4,
  kQuickExit = 5,
  kHold = 6,
};

// A test that stopped talking to its peer without closing the link: give up eventually.
constexpr absl::Duration kIdleLimit = absl::Seconds(60);

enum ExitCode : int {
  kLinkClosed = 0,
  kNoEnd = 1,
  kUsage = 2,
  kReceiveFailed = 3,
  kNotARequest = 4,
  kReplyFailed = 5,
};

int Fail(ExitCode code, const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "link_peer: %s: %s\n", what.c_str(), status.ToString().c_str());
  return code;
}

absl::Status Answer(Link& end, const Message& request) {
  switch (request.command) {
    case kEcho:
      return end.Reply(request.id, absl::OkStatus(), request.data);
    case kSum: {
      if (request.dma_direction != DmaDirection::kToTarget) {
        return end.Reply(request.id, absl::InvalidArgumentError("sum needs a to-target buffer"),
                         {});
      }
      uint64_t sum = 0;
      for (std::byte b : request.peer_buffer.data()) sum += static_cast<uint8_t>(b);
      std::byte bytes[sizeof(sum)];
      std::memcpy(bytes, &sum, sizeof(sum));
      return end.Reply(request.id, absl::OkStatus(), bytes);
    }
    case kFill: {
      if (request.dma_direction != DmaDirection::kFromTarget) {
        return end.Reply(request.id, absl::InvalidArgumentError("fill needs a from-target buffer"),
                         {});
      }
      std::span<std::byte> buffer = request.peer_buffer.data();
      for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::byte>(i % 251);
      return end.Reply(request.id, absl::OkStatus(), {}, {.filled = buffer.size(), .attach = {}});
    }
    case kExit:
      std::exit(0);
    case kQuickExit:
      _exit(0);
    case kHold:
      return absl::OkStatus();
  }
  return end.Reply(request.id,
                   absl::UnimplementedError(absl::StrCat("no command ", request.command)), {});
}

int Serve(Link& end) {
  while (true) {
    absl::StatusOr<Message> request = end.Receive(absl::Now() + kIdleLimit);
    if (!request.ok()) {
      if (IsPeerDied(request.status())) return kLinkClosed;
      return Fail(kReceiveFailed, "Receive", request.status());
    }
    if (request->kind != MessageKind::kRequest) {
      return Fail(kNotARequest, absl::StrCat("message ", request->id), request->status);
    }
    absl::Status replied = Answer(end, *request);
    if (IsPeerDied(replied)) return kLinkClosed;
    if (!replied.ok()) {
      return Fail(kReplyFailed, absl::StrCat("Reply to request ", request->id), replied);
    }
  }
}

}  // namespace
}  // namespace syslink

int main(int argc, char** argv) {
  int socket = -1;
  if (argc != 2 || !absl::SimpleAtoi(argv[1], &socket) || socket < 0) {
    std::fprintf(stderr, "usage: link_peer <socket-fd>\n");
    return syslink::kUsage;
  }
  absl::StatusOr<syslink::Link> end = syslink::ReceiveEnd(socket, absl::Now() + absl::Seconds(30));
  close(socket);
  if (!end.ok()) return syslink::Fail(syslink::kNoEnd, "ReceiveEnd", end.status());
  return syslink::Serve(*end);
}
