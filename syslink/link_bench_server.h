// link_benchmark's forked link server, and the log a server stamps its steps into.
//
//   LinkServer server(ring::WaitMode::kSpin);  // echoes kEcho, reads kReadBuffer's buffer
//   absl::StatusOr<Message> reply = server.client().Call(kEcho, payload, {}, deadline);
//
//   SharedStampLog log;                 // made before the fork, so that the server shares it
//   LinkServer stamped(mode, &*log);    // stamps each request's steps in it
//
// Thread safety: a LinkServer and a SharedStampLog are not thread-safe; one thread of the
// benchmark uses them. A StampLog is shared by two processes: the server writes it and
// publishes each request's stamps with a release store of `answered`; the parent reads the
// stamps only after an acquire load of `answered` covers every request it sent.
//
// Ownership: a LinkServer owns the client's end and the forked server, which exits once the
// client's end is closed. A SharedStampLog owns its mapping; it must be made before the
// server that writes it is forked (the child inherits the mapping) and outlive the parent's
// reads.
//
// Errors: LinkServer and SharedStampLog abort, saying why, when the link cannot be made or
// handed over or the log cannot be mapped (the benchmark cannot run without them). The
// server's exit code: 0 once the client has gone, 1 if it cannot adopt its end, 2 if a
// reply fails.

#ifndef SYSLINK_SYSLINK_LINK_BENCH_SERVER_H_
#define SYSLINK_SYSLINK_LINK_BENCH_SERVER_H_

#include <sys/mman.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <span>

#include "ring/wait_mode.h"
#include "syslink/link.h"
#include "tests/support/checksum.h"
#include "tests/support/child_process.h"

namespace syslink::link_bench {

inline constexpr size_t kInline = 64;
inline constexpr size_t kDmaBytes = 128 * 1024;
inline constexpr uint32_t kEcho = 1;
inline constexpr uint32_t kReadBuffer = 2;

using ::syslink::testing::Checksum;  // the peer reads every byte of a buffer

// What a server stamps (CycleCount()) for one request: when its poll found the request
// ready, when the layer handed it over (RingConsumer::Read() or Link::Receive() returned),
// and when its reply was published (RingProducer::Write() or Link::Reply() returned). A
// stamp is when a call returned: the stores it made may still be on their way to the
// other CPU.
struct ServerStamps {
  uint64_t ready;
  uint64_t taken;
  uint64_t published;
};

// A server's stamps of its last kTrips requests, in a shared anonymous mapping made before
// the fork. The server writes a request's stamps after its reply is published, then stores
// `answered` with release; the parent reads them only after its run, once an acquire load
// of `answered` covers every request it sent, so no line of it moves while it measures.
struct StampLog {
  static constexpr uint64_t kTrips = 1 << 14;
  alignas(64) std::atomic<uint64_t> answered;
  alignas(64) ServerStamps trips[kTrips];  // request n at n % kTrips

  // In the server: its pages faulted in before the first request.
  void Touch() { std::memset(trips, 0, sizeof(trips)); }
  // In the server, once request n's reply is published.
  void Add(uint64_t n, const ServerStamps& stamps) {
    trips[n % kTrips] = stamps;
    answered.store(n + 1, std::memory_order_release);
  }
};

// Owns a StampLog mapped MAP_SHARED | MAP_ANONYMOUS: a child forked later shares it.
class SharedStampLog {
 public:
  SharedStampLog() {
    void* memory =
        mmap(nullptr, sizeof(StampLog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      std::perror("link_benchmark: mmap");
      std::abort();
    }
    log_ = new (memory) StampLog();
  }
  SharedStampLog(const SharedStampLog&) = delete;
  SharedStampLog& operator=(const SharedStampLog&) = delete;
  ~SharedStampLog() { munmap(log_, sizeof(StampLog)); }

  StampLog& operator*() const { return *log_; }

 private:
  StampLog* log_;
};

// A forked server on the other CPU that answers every request on its end of a link. With a
// `log`, it stamps its steps there (and waits for requests itself, as the mode's Receive()
// would: spinning on Ready(), or, blocking, asleep in poll() on fd()).
class LinkServer {
 public:
  explicit LinkServer(ring::WaitMode mode, StampLog* log = nullptr);

  Link& client() { return client_; }
  pid_t pid() const { return server_->pid(); }

 private:
  Link client_;
  std::optional<testing::ChildProcess> server_;
};

}  // namespace syslink::link_bench

#endif  // SYSLINK_SYSLINK_LINK_BENCH_SERVER_H_
