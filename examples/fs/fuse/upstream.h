// Upstream: the file server behind a FUSE mount, found by name through the broker, with a
// pool of clients, the news of its death, and reconnection when a server of that name
// comes back.
//
//   std::unique_ptr<Upstream> upstream =
//       Upstream::Start({.service_name = "syslink.examples.fs.memfs"});
//   absl::StatusOr<Upstream::Lease> lease = upstream->Acquire();   // ENOTCONN while down
//   if (!lease.ok()) return ErrnoOf(lease.status());
//   absl::StatusOr<Attr> attr = lease->client().GetAttr(lease->root_ino());
//   lease->Note(attr.status());   // a call that found the server dead ends the epoch
//
// Epochs. Each successful connection is an epoch, numbered 1, 2, ... Inode numbers and
// handles belong to the epoch that gave them (NodeTable maps the kernel's node ids onto
// (ino, epoch)); a new server process numbers its inodes afresh.
//
// Death and reconnection. A watcher thread polls every link of the current epoch for the
// peer's hang-up (POLLRDHUP/POLLHUP on a duplicate of the link's socket, which syslink makes
// pollable), so a server's death is noticed at once, with or without calls in flight. Calls
// in flight complete with UNAVAILABLE/PEER_DIED (LinkChannel), which ErrnoOf() turns into
// ENOTCONN; Note() of such a status also ends the epoch. While no epoch is live, Acquire()
// fails at once with ENOTCONN and the watcher redials in the background, backing off from
// `min_backoff` to `max_backoff` between attempts; FUSE requests never wait for a connect.
//
// Concurrency. A LinkChannel carries one call at a time, so an epoch holds `channels`
// links, each with its own FsClient and a reusable DMA write buffer; a Lease is one of them,
// taken for one FUSE request. Acquire() waits for a free one (a call in flight ends in
// bounded time: the server answers or dies).
//
// Over gRPC. With `grpc_target` set, the server is reached through gRPC instead of the
// broker: a syslink-gateway in front of it on another machine, or any gRPC server of
// fs.proto (docs/grpc.md). The epoch's clients share one GrpcChannel; attachments travel in
// the gRPC messages. There is no socket to watch: a call that fails UNAVAILABLE (the
// server, or the gateway's service behind it, went away) ends the epoch, and the watcher
// redials with Init, which answers again once a server is back.
//
// Thread safety: all methods may be called from any thread; a Lease is used by one thread.
// Ownership: a Lease must not outlive the Upstream that gave it; it keeps its epoch's
// links alive after the epoch ended. Errors: Acquire() fails with ErrnoError(ENOTCONN) while
// disconnected (the message says why the last connect failed).

#ifndef SYSLINK_EXAMPLES_FS_FUSE_UPSTREAM_H_
#define SYSLINK_EXAMPLES_FS_FUSE_UPSTREAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "examples/fs/fs.pb.h"
#include "examples/fs/fs_client.h"
#include "rpc/attachment.h"
#include "rpc/grpc/tls_files.h"
#include "syslink/broker/client.h"

namespace syslink::examples::fs {

struct UpstreamOptions {
  std::string service_name;
  // How to reach the broker; `timeout` bounds each connect attempt.
  broker::BrokerConnectOptions broker = {.start_broker = false, .timeout = absl::Seconds(2)};
  int channels = 1;  // links (parallel calls) per epoch: one per FUSE worker
  // Not empty: reach the server over gRPC at this target ("host:port", "unix:/path")
  // instead of through the broker; `service_name` then only names it in messages.
  std::string grpc_target;
  // TLS for grpc_target: with a ca_file (and for mTLS cert_file and key_file); plaintext
  // when all are empty.
  rpc::TlsFiles grpc_tls;
  absl::Duration min_backoff = absl::Milliseconds(20);
  absl::Duration max_backoff = absl::Milliseconds(500);
};

class Upstream {
 private:
  struct Epoch;
  struct Slot;

 public:
  // One client of one epoch, lent for one request; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    FsClient& client();
    uint64_t epoch() const;
    // The server's root inode and limits (its InitResponse) in this epoch.
    uint64_t root_ino() const;
    const InitResponse& limits() const;
    // A DMA buffer of this client's channel, kMaxIoSize bytes, for Write; hand it back
    // with ReturnWriteBuffer() for the next request.
    [[nodiscard]] absl::StatusOr<rpc::Attachment> TakeWriteBuffer();
    void ReturnWriteBuffer(rpc::Attachment buffer);
    // Looks at the outcome of a call: one that found the server dead ends the epoch.
    void Note(const absl::Status& status);

   private:
    friend class Upstream;
    Lease(Upstream* owner, std::shared_ptr<Epoch> epoch, std::unique_ptr<Slot> slot);
    Upstream* owner_;
    std::shared_ptr<Epoch> epoch_;
    std::unique_ptr<Slot> slot_;
  };

  // Connects once now (`channels` links and an Init on the first: EPROTO when the
  // protocol versions differ), then watches and reconnects in the background whatever the outcome
  // (see last_error()). The watcher thread blocks every signal.
  [[nodiscard]] static std::unique_ptr<Upstream> Start(UpstreamOptions options);
  ~Upstream();  // stops the watcher; leases must be gone

  [[nodiscard]] absl::StatusOr<Lease> Acquire();

  // The current epoch (0 before the first connection); it stays the number of the
  // last one while disconnected.
  uint64_t epoch() const;
  bool connected() const;
  // Waits until connected, or until `deadline`; whether connected. Woken by the
  // watcher's connecting, not by a timer.
  bool WaitConnected(absl::Time deadline) const;
  // Why the last connect failed or the last epoch ended (OK while connected).
  absl::Status last_error() const;
  const UpstreamOptions& options() const { return options_; }

 private:
  explicit Upstream(UpstreamOptions options);
  // Makes the links of a new epoch (without installing it).
  absl::StatusOr<std::shared_ptr<Epoch>> Dial(uint64_t number);
  // Ends epoch `epoch` if it is still the current one, and wakes the watcher.
  void EndEpoch(Epoch* epoch, const absl::Status& why);
  void Release(std::shared_ptr<Epoch> epoch, std::unique_ptr<Slot> slot);
  void Watch();
  void Wake();

  const UpstreamOptions options_;
  const UniqueFd wake_fd_;     // an eventfd: stop, or an epoch ended; set at construction
  mutable absl::Mutex mutex_;  // also guards each Epoch's `idle` and `ended`
  absl::CondVar slot_freed_;   // a slot went back to an epoch's `idle`, or the epoch ended
  std::shared_ptr<Epoch> current_ ABSL_GUARDED_BY(mutex_);  // null before the first connection
  uint64_t epochs_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Started by Start() and joined by the destructor, on the thread that owns the Upstream.
  std::thread watcher_;
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_UPSTREAM_H_
