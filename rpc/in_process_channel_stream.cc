// InProcessChannel's streams: OpenStream(), the ClientStream a stub wraps, and what the
// channel keeps to reach its streams (TryCancel()) and to wait for their methods (its
// destructor). The stream itself, both sides of it, is rpc/internal/in_process_stream.h.

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "base/unique_fd.h"
#include "rpc/in_process_channel.h"
#include "rpc/internal/in_process_stream.h"
#include "rpc/internal/server_context_access.h"

namespace syslink::rpc {

using internal::InProcessStream;

// The channel's open streams that have a context, and its streaming methods still running.
// TryCancel() on a stream's context writes to `wake_` (the context's cancel waker); a
// thread of the channel's, started with the first such stream, waits on it and cancels
// the streams whose context asks. So a cancel reaches a side blocked in Read() or Write()
// at once, with no side looking at the context on a timer. Thread-safe.
class InProcessChannel::Streams {
 public:
  Streams() : wake_(std::make_shared<const UniqueFd>(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))) {}

  const std::shared_ptr<const UniqueFd>& wake() const { return wake_; }

  // TryCancel() on `context` cancels `stream` until Remove(stream), which must come before
  // the context goes.
  void Add(std::shared_ptr<InProcessStream> stream, const ClientContext* context) {
    absl::MutexLock lock(&mutex_);
    InProcessStream* key = stream.get();
    open_[key] = {std::move(stream), context};
    // Without an eventfd, a cancel is seen at the caller's next step only.
    if (!watcher_.joinable() && !closing_ && wake_->valid()) {
      watcher_ = std::thread([this] { Watch(); });
    }
  }
  void Remove(const InProcessStream* stream) {
    absl::MutexLock lock(&mutex_);
    open_.erase(stream);
  }

  void MethodStarted() {
    absl::MutexLock lock(&mutex_);
    ++running_;
  }
  void MethodReturned() {
    absl::MutexLock lock(&mutex_);
    if (--running_ == 0) none_running_.SignalAll();
  }

  // Cancels the streams still open, stops the watcher, and waits until every method
  // returned.
  void Close() {
    std::thread watcher;
    {
      absl::MutexLock lock(&mutex_);
      closing_ = true;
      for (auto& [key, open] : open_) open.stream->Cancel("the channel was destroyed");
      watcher = std::move(watcher_);
    }
    if (watcher.joinable()) {
      const uint64_t one = 1;
      if (write(wake_->get(), &one, sizeof(one)) < 0) {
        // Fails only with the counter full, which wakes the watcher all the same.
      }
      watcher.join();
    }
    absl::MutexLock lock(&mutex_);
    while (running_ > 0) none_running_.Wait(&mutex_);
  }

 private:
  struct Open {
    std::shared_ptr<InProcessStream> stream;
    const ClientContext* context;
  };

  // The watcher's loop: each wake-up, cancels the streams whose context asks.
  void Watch() {
    for (;;) {
      struct pollfd fd = {wake_->get(), POLLIN, 0};
      if (poll(&fd, 1, -1) < 0 && errno != EINTR) return;
      uint64_t count;
      if (read(wake_->get(), &count, sizeof(count)) < 0) {
        // EAGAIN: nothing to take; look all the same.
      }
      absl::MutexLock lock(&mutex_);
      if (closing_) return;
      for (auto& [key, open] : open_) {
        if (open.context->cancel_requested()) open.stream->Cancel("cancelled (TryCancel)");
      }
    }
  }

  const std::shared_ptr<const UniqueFd> wake_;
  absl::Mutex mutex_;
  absl::CondVar none_running_;  // running_ fell to 0
  std::unordered_map<const InProcessStream*, Open> open_ ABSL_GUARDED_BY(mutex_);
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool closing_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread watcher_ ABSL_GUARDED_BY(mutex_);
};

// What a stub wraps: the caller's side of an InProcessStream. Used by its owner's threads
// as ClientStream says.
class InProcessChannel::Stream final : public ClientStream {
 public:
  Stream(std::shared_ptr<Streams> streams, std::shared_ptr<InProcessStream> stream,
         ClientContext* context, google::protobuf::MessageLite* response, bool reads)
      : streams_(std::move(streams)),
        stream_(std::move(stream)),
        context_(context),
        response_(response),
        reads_(reads) {}
  ~Stream() override {
    if (!finish_called_) stream_->Cancel("the stream was destroyed before Finish()");
    if (context_ != nullptr) streams_->Remove(stream_.get());
  }

  absl::Status Write(const google::protobuf::MessageLite& message, Attachment* attachment,
                     bool wait) override {
    NoteCancel();
    return stream_->ClientWrite(message, attachment, wait);
  }
  absl::Status WritesDone() override {
    NoteCancel();
    return stream_->WritesDone();
  }
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override {
    if (!reads_) return false;
    NoteCancel();
    return stream_->ClientRead(message, attachment);
  }
  absl::Status Finish() override;

 private:
  // A TryCancel() that came before the stream was opened, or while no side waited.
  void NoteCancel() {
    if (context_ != nullptr && context_->cancel_requested()) {
      stream_->Cancel("cancelled (TryCancel)");
    }
  }

  const std::shared_ptr<Streams> streams_;
  const std::shared_ptr<InProcessStream> stream_;
  ClientContext* const context_;
  google::protobuf::MessageLite* const response_;
  const bool reads_;            // the method streams: Read() reads
  bool finish_called_ = false;  // used only by the stream's owner
};

absl::Status InProcessChannel::Stream::Finish() {
  finish_called_ = true;
  NoteCancel();
  InProcessStream::Outcome outcome = stream_->Finish();
  if (context_ != nullptr) {
    if (!outcome.trailing.empty()) context_->set_server_trailing_metadata(outcome.trailing);
    if (outcome.status.ok() && outcome.response_attachment.size() > 0) {
      context_->response_attachment() = std::move(outcome.response_attachment);
    }
  }
  if (outcome.status.ok() && response_ != nullptr &&
      !response_->ParseFromString(outcome.response)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the response of %s (%d bytes) does not parse as %s", stream_->path(),
                        outcome.response.size(), response_->GetTypeName()));
  }
  return outcome.status;
}

namespace {

// Runs the streaming method `method_id` of `service` with `request` on `stream`, and tells
// the stream how it returned.
void ServeStream(Service& service, uint32_t method_id, const std::string& request,
                 InProcessStream& stream) {
  ServerContext& context = stream.server_context();
  ServerCall call(method_id, std::as_bytes(std::span(request.data(), request.size())), &context);
  call.set_stream(&stream);
  absl::Status status = DispatchCatching(service, call);
  internal::ServerContextAccess::RunAfterReply(context);
  InProcessStream::Outcome outcome;
  outcome.trailing = internal::ServerContextAccess::TakeTrailingMetadata(context);
  if (!outcome.trailing.empty()) {
    absl::Status bad = CheckMetadata(outcome.trailing, "the method's trailing metadata");
    if (!bad.ok()) {
      status = std::move(bad);
      outcome.trailing.clear();
    }
  }
  if (status.ok()) {
    outcome.response = call.response_bytes();
    outcome.response_attachment = std::move(context.response_attachment());
  }
  outcome.status = std::move(status);
  stream.Return(std::move(outcome));
}

}  // namespace

InProcessChannel::InProcessChannel(Service* service, InProcessChannelOptions options)
    : service_(service), options_(options), streams_(std::make_shared<Streams>()) {}

InProcessChannel::~InProcessChannel() { streams_->Close(); }

std::unique_ptr<ClientStream> InProcessChannel::OpenStream(
    const Method& method, const google::protobuf::MessageLite* request,
    google::protobuf::MessageLite* response, ClientContext* context) {
  if (method.kind == MethodKind::kUnary) {
    return std::make_unique<FailedClientStream>(absl::InvalidArgumentError(
        absl::StrCat(method.path, " is unary: call it, do not open a stream of it")));
  }
  if (context != nullptr && !context->metadata().empty()) {
    absl::Status bad = CheckMetadata(context->metadata(), "the stream's metadata");
    if (!bad.ok()) {
      return std::make_unique<FailedClientStream>(
          absl::InvalidArgumentError(absl::StrCat(method.path, ": ", bad.message())));
    }
  }
  auto stream = std::make_shared<InProcessStream>(
      method.path, std::clamp(options_.stream_window, 1, 1024),
      context != nullptr ? context->deadline() : absl::InfiniteFuture());
  if (context != nullptr) {
    ServerContext& server_context = stream->server_context();
    server_context.request_attachment() = std::move(context->request_attachment());
    internal::ServerContextAccess::SetClientMetadata(server_context, context->metadata());
    context->set_cancel_waker(streams_->wake());
    streams_->Add(stream, context);
  }
  const bool reads =
      method.kind == MethodKind::kServerStreaming || method.kind == MethodKind::kBidiStreaming;
  auto client = std::make_unique<Stream>(streams_, stream, context, response, reads);
  // The method waits for the caller: it runs on a thread of its own, which the channel's
  // destructor waits for.
  streams_->MethodStarted();
  std::thread([service = service_, streams = streams_, stream, method_id = method.id,
               bytes = request != nullptr ? request->SerializeAsString() : std::string()] {
    ServeStream(*service, method_id, bytes, *stream);
    streams->MethodReturned();
  }).detach();
  if (context != nullptr && context->cancel_requested()) stream->Cancel("cancelled (TryCancel)");
  return client;
}

}  // namespace syslink::rpc
