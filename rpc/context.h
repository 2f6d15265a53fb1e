// The per-call state both sides of an RPC see.
//
//   // Client
//   syslink::rpc::ClientContext context;
//   context.set_timeout(absl::Milliseconds(200));
//   context.set_request_attachment(std::move(bulk));
//   absl::StatusOr<Reply> reply = stub.Get(request, &context);
//   Use(context.response_attachment().data());
//   context.GetServerTrailingMetadata();                   // what the method added
//
//   // Server, inside a method
//   absl::Status Get(ServerContext& context, const Request& request, Reply* reply) override {
//     if (context.peer().uid != owner_) return absl::PermissionDeniedError("...");
//     Read(context.request_attachment().data());
//     context.set_response_attachment(...);
//     context.AddTrailingMetadata("x-cache", "hit");
//   }
//
// Thread safety: a context belongs to one call; TryCancel() (client) may be called from
// another thread while the call runs, everything else by the call's own thread (a server
// context's hook set with OnCancel() runs on the thread that cancels the call).

#ifndef SYSLINK_RPC_CONTEXT_H_
#define SYSLINK_RPC_CONTEXT_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "rpc/attachment.h"
#include "rpc/metadata.h"
#include "syslink/link.h"

namespace syslink::rpc {

// Who is calling, as the kernel attested when the link was made (SO_PEERCRED through the
// broker). Zero for a link not made by the broker. A caller on another machine (through
// ServeGrpc, rpc/grpc/grpc_server.h) is no local process: RemotePeer(), whose uid and gid
// no file or policy names; ServerContext::transport_peer() says who it is.
//
// `groups`: the caller's supplementary groups, attested by the broker as the kernel gave
// them (SO_PEERGROUPS) when the caller connected to it; Server::ServeBroker puts them
// here. Null when not known: a link not made by the broker, a remote caller. Shared, so
// that copying an identity per call costs no allocation. A group counts as the caller had
// it then; one the caller dropped since still shows here, as a descriptor opened before a
// change of user keeps its rights.
struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::shared_ptr<const std::vector<gid_t>> groups;

  // The supplementary groups, empty when not known.
  std::span<const gid_t> supplementary_groups() const {
    return groups != nullptr ? std::span<const gid_t>(*groups) : std::span<const gid_t>();
  }
};

inline constexpr uid_t kNoUid = static_cast<uid_t>(-1);
inline constexpr gid_t kNoGid = static_cast<gid_t>(-1);
inline PeerIdentity RemotePeer() { return {0, kNoUid, kNoGid}; }

// Who is calling over a network transport (rpc/grpc): the address gRPC reports
// ("ipv4:10.0.0.2:51234", "ipv6:[::1]:40000", "unix:/run/app.sock"), and the subject of the
// TLS client certificate the server verified ("CN=client,O=example"), empty without mTLS.
struct TransportPeer {
  std::string address;
  std::string tls_subject;
};

class ServerContext;

class ClientContext {
 public:
  void set_deadline(absl::Time deadline) { deadline_ = deadline; }
  void set_timeout(absl::Duration timeout) { deadline_ = absl::Now() + timeout; }
  absl::Time deadline() const { return deadline_; }

  // Sent beside the request (zero-copy when it came from the channel's AllocateAttachment).
  void set_request_attachment(Attachment attachment) {
    request_attachment_ = std::move(attachment);
  }
  Attachment& request_attachment() { return request_attachment_; }
  // What came back beside the response.
  Attachment& response_attachment() { return response_attachment_; }

  // Asks the call to stop waiting: it completes with CANCELLED (a late reply is dropped),
  // and the method sees ServerContext::cancelled(). A LinkChannel waiting for the call is
  // woken at once; a GrpcChannel notices within 10 ms. A method run in process by an
  // InProcessChannel has its OnCancel() hook run here, on this thread.
  void TryCancel();
  bool cancel_requested() const { return cancelled_.load(std::memory_order_relaxed); }

  // On a channel that finds its server by name (NamedChannel, named_channel.h): a call to
  // a service that is not registered (yet, or again) waits for it until the deadline,
  // instead of failing at once with NOT_FOUND. Other channels ignore it.
  void set_wait_for_ready(bool wait) { wait_for_ready_ = wait; }
  bool wait_for_ready() const { return wait_for_ready_; }

  // Over a link: sends the method's path ("/package.Service/Method") with the call, and the
  // server refuses it (UNIMPLEMENTED) unless the method id it gets is that path's. A link
  // carries only the id, a 31-bit hash of the name, and a name hashing to another rpc's id
  // can be searched for in seconds: a relay that takes paths from others and exposes only
  // some services (syslink-gateway) sets this, so that a crafted path cannot reach an rpc it
  // does not expose. Costs the path's bytes of the call's metadata (metadata.h). Other
  // channels ignore it: gRPC carries paths, and a channel in process dispatches by path.
  void set_send_method_path(bool send) { send_method_path_ = send; }
  bool send_method_path() const { return send_method_path_; }

  // Metadata sent with the call (metadata.h): the method sees it in
  // ServerContext::client_metadata(). Checked when the call starts: a call whose metadata
  // breaks a rule fails with INVALID_ARGUMENT, unsent. For a stream, what was added before
  // the channel's OpenStream().
  void AddMetadata(std::string key, std::string value) {
    metadata_.emplace(std::move(key), std::move(value));
  }
  const Metadata& metadata() const { return metadata_; }

  // What the server sent back (ServerContext::AddTrailingMetadata), whatever the status;
  // for a stream, once Finish() returned. Over gRPC, the server's initial metadata is here
  // too. Empty until then.
  const Metadata& GetServerTrailingMetadata() const { return server_trailing_metadata_; }
  // Set by the transport that completed the call.
  void set_server_trailing_metadata(Metadata metadata) {
    server_trailing_metadata_ = std::move(metadata);
  }

 private:
  friend class InProcessChannel;  // lets the method see TryCancel
  friend class LinkChannel;       // sets the waker
  friend class NamedChannel;      // sets the waker while it waits for a server

  // An eventfd that TryCancel() writes to wake the channel waiting for the call; shared,
  // so that a TryCancel() after the channel is gone writes to a descriptor still open.
  // Guarded by waker_lock_ (a spin lock: held for a pointer copy).
  void set_cancel_waker(const std::shared_ptr<const UniqueFd>& waker);
  std::atomic_flag waker_lock_ = ATOMIC_FLAG_INIT;
  std::shared_ptr<const UniqueFd> waker_;
  // While an InProcessChannel runs the call's method on the caller's thread: the method's
  // context, whose OnCancel() hook TryCancel() runs (holding callee_mutex_, so that the
  // channel, clearing it, waits for a run in progress).
  void set_in_process_callee(ServerContext* callee);
  absl::Mutex callee_mutex_;
  ServerContext* in_process_callee_ ABSL_GUARDED_BY(callee_mutex_) = nullptr;

  absl::Time deadline_ = absl::InfiniteFuture();
  bool wait_for_ready_ = false;
  bool send_method_path_ = false;
  Metadata metadata_;
  Metadata server_trailing_metadata_;
  Attachment request_attachment_;
  Attachment response_attachment_;
  std::atomic<bool> cancelled_{false};
};

// The base of what a service keeps per link (ServerContext::session_state).
class SessionState {
 public:
  virtual ~SessionState() = default;
};

namespace internal {
class ServerContextAccess;
}  // namespace internal

class ServerContext {
 public:
  // A call from `peer` to answer by `deadline`. The server runtime makes one for each call
  // it serves; a test that calls a method directly makes its own.
  explicit ServerContext(PeerIdentity peer = {}, absl::Time deadline = absl::InfiniteFuture())
      : peer_(peer), deadline_(deadline) {}
  ~ServerContext() { delete cancel_hook_.load(std::memory_order_acquire); }
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  const PeerIdentity& peer() const { return peer_; }
  // The caller's network address and TLS identity when the call came over gRPC (ServeGrpc);
  // empty strings for a call over a link or in process. A call relayed by syslink-gateway
  // reaches its service over a link: the peer is the gateway's process.
  const TransportPeer& transport_peer() const {
    static const TransportPeer kNone;
    return transport_ != nullptr ? *transport_ : kNone;
  }

  // The caller's metadata (ClientContext::AddMetadata; metadata.h), checked by the transport.
  const Metadata& client_metadata() const { return client_metadata_; }

  // Metadata sent back with the call's status, whatever it is (the caller reads it in
  // ClientContext::GetServerTrailingMetadata()). Added before the method returns; for a
  // stream, before the stream's method returns. Metadata that breaks a rule (metadata.h)
  // turns the answer into INVALID_ARGUMENT naming it.
  void AddTrailingMetadata(std::string key, std::string value) {
    trailing_metadata_.emplace(std::move(key), std::move(value));
  }
  const Metadata& trailing_metadata() const { return trailing_metadata_; }
  // The caller's deadline, when it sent one (InfiniteFuture otherwise).
  absl::Time deadline() const { return deadline_; }
  // True when the caller no longer waits for the result: it cancelled the call
  // (ClientContext::TryCancel), its deadline passed, its link is closing (the server shuts
  // down, or the caller's end closed while a pool worker ran the method), its process is
  // gone (on a link the broker made, which tells), or the stream it runs for ended. Cheap
  // enough to ask between the steps of long work: a few loads from memory and, with a
  // deadline, a clock read.
  bool cancelled() const {
    return cancelled_.load(std::memory_order_relaxed) ||
           (ending_ != nullptr && ending_->load(std::memory_order_relaxed)) || watch_.given_up() ||
           (deadline_ != absl::InfiniteFuture() && absl::Now() > deadline_);
  }

  // Runs `hook` once when the caller cancels the call, so that a method that waits (for
  // news to stream, say) can wait for that too instead of asking cancelled() over and
  // over. It runs on the thread that cancels, which may be any of the server's, this
  // method's own inside a stream's Read() or Write() included: for a stream, when the
  // caller cancels it or drops it before Finish(), its link closes (the caller's process
  // died, say) or the server shuts down; for a unary call over a link that pool workers
  // serve (ServerOptions::workers > 0), when the caller cancels it or its deadline passes
  // (the caller's channel tells the server as it gives up), its link closes or the server
  // shuts down; for a unary call in process (InProcessChannel), when the caller cancels
  // it; over gRPC, when any call is cancelled. It runs at
  // once, on this thread, if cancelled() is true already. A later OnCancel() replaces it;
  // OnCancel(nullptr) removes it, and returns only once a run of it has finished, so that
  // what it uses may go after that: call it before the method returns if the hook uses
  // anything the method owns. The hook must be quick, must not call OnCancel() or the
  // caller's TryCancel(), and must not wait for a lock that the method holds while it
  // calls Read(), Write() or OnCancel().
  //
  // Not necessarily run when the deadline passes (wait until deadline() for that: a
  // caller that no longer reads its link tells nobody). Over a link the caller's word
  // needs room: when all 4,096 request slots of its link are taken, it waits for one (a
  // LinkChannel with a completion thread reads on for it), and past 4,096 words waiting
  // the caller sends no more. Never run for a unary call served
  // on its link's own thread (workers == 0), but at once: that thread is the method's, so
  // nothing reads the link meanwhile, and the caller's giving up is a flag in shared
  // memory that cancelled() reads and that wakes no thread. A method that waits for its
  // caller to give up over a link needs workers.
  void OnCancel(std::function<void()> hook);

  // A buffer for set_response_attachment(): zero-copy over the call's link when the
  // method runs on the link's own thread (ServerOptions::workers == 0), plain memory
  // (copied once when sent) otherwise.
  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) {
    if (allocator_) return allocator_(bytes);
    Attachment attachment = Attachment::FromBytes({});
    attachment.resize(bytes);
    return attachment;
  }

  // The buffer that came beside the request: readable until the method returns.
  Attachment& request_attachment() { return request_attachment_; }
  // A buffer to send back beside the response.
  void set_response_attachment(Attachment attachment) {
    response_attachment_ = std::move(attachment);
  }
  Attachment& response_attachment() { return response_attachment_; }

  // Work to run once the reply is on its way, on the thread that ran the method, before
  // that thread takes another call: what the caller need not wait for, such as preparing
  // the answer to the call likely to come next. It runs whether or not the reply reached
  // the caller, even while the server stops, and delays the link's next call and the
  // server's Shutdown() as long as it takes: keep it short. This context is still there
  // (AllocateAttachment() works), but the response has gone and the request's attachment
  // went back with it: it must not be read. set_after_reply() from within the work is
  // ignored. The last one set wins. An
  // InProcessChannel, which runs the method on the caller's thread, runs the work there
  // before the call returns.
  void set_after_reply(std::function<void()> work) { after_reply_ = std::move(work); }

  // What the service keeps for the caller's link from one call to the next: a T (derived
  // from SessionState), default-constructed on first use, owned by the server runtime,
  // and destroyed when the link's session ends (after its last call). Only the link's own
  // thread runs its methods, one at a time, so T needs no lock; the pointer is good during
  // this call and its after-reply work, and must not be kept past them. Null where there
  // is no such thread: on a server with workers (ServerOptions::workers > 0), where one
  // caller's calls may run at once, and through an InProcessChannel. Null too when the
  // session already holds a state of another type.
  template <typename T>
  T* session_state() {
    static_assert(std::is_base_of_v<SessionState, T>, "T must derive from SessionState");
    if (session_ == nullptr) return nullptr;
    if (*session_ == nullptr) *session_ = std::make_unique<T>();
    return dynamic_cast<T*>(session_->get());
  }

 private:
  // The server runtime's plumbing (rpc/internal/server_context_access.h): how to tell the
  // caller left, metadata in and out, the allocator, the session, the after-reply work.
  friend class internal::ServerContextAccess;

  PeerIdentity peer_;
  const TransportPeer* transport_ = nullptr;
  Metadata client_metadata_;
  Metadata trailing_metadata_;
  absl::Time deadline_;
  RequestWatch watch_;                         // whether the caller still waits
  const std::atomic<bool>* ending_ = nullptr;  // set once nobody will take the reply
  // Sets cancelled_ and runs the hook OnCancel() left (ServerContextAccess::MarkCancelled).
  void MarkCancelled();

  std::atomic<bool> cancelled_{false};
  // The hook OnCancel() left, and a lock held while it runs, so that OnCancel() can wait
  // for a run to finish. Made by the first OnCancel() with a hook, so that a call that
  // sets none pays for a null pointer only; owned.
  struct CancelHook {
    absl::Mutex mutex;
    std::function<void()> run ABSL_GUARDED_BY(mutex);
  };
  std::atomic<CancelHook*> cancel_hook_{nullptr};
  std::function<absl::StatusOr<Attachment>(size_t)> allocator_;
  std::function<void()> after_reply_;
  std::unique_ptr<SessionState>* session_ = nullptr;
  Attachment request_attachment_;
  Attachment response_attachment_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_CONTEXT_H_
