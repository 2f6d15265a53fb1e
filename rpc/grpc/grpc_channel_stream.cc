// GrpcChannel's streams: a gRPC generic streaming call (callback API) behind ClientStream.
//
// gRPC's reactions (OnReadDone, OnWriteDone, OnDone) run on gRPC's threads; they only move
// buffers and wake the threads waiting in Read(), Write() and Finish(). A hold keeps the
// call from completing while the stream's user may still start operations; Finish() (or
// the destructor) lets it go, then waits for OnDone and its status. Waiting threads look
// at the context's TryCancel flag every 10 ms, as a sync call does. The context's metadata
// goes out with the call; once OnDone ran, Finish() gives the context the server's.

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/support/client_callback.h"
#include "rpc/grpc/grpc_channel.h"
#include "rpc/grpc/internal/frame_queue.h"
#include "rpc/grpc/internal/grpc_deadline.h"
#include "rpc/grpc/message_frame.h"
#include "rpc/grpc/status_map.h"
#include "rpc/metadata.h"

namespace syslink::rpc {
namespace {

constexpr absl::Duration kCancelCheck = absl::Milliseconds(10);

}  // namespace

class GrpcChannel::Stream final
    : public ClientStream,
      public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Stream(grpc::GenericStub& stub, const Method& method,
         const google::protobuf::MessageLite* request, google::protobuf::MessageLite* response,
         ClientContext* context);
  ~Stream() override;
  // Starts the call (after the constructor queued its first operations).
  void Start();

  absl::Status Write(const google::protobuf::MessageLite& message, Attachment* attachment,
                     bool wait) override;
  absl::Status WritesDone() override;
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override;
  absl::Status Finish() override;

  // gRPC's reactions.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  // Waits until `ready` holds, passing on a TryCancel() meanwhile.
  template <typename Ready>
  void WaitFor(Ready ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void StartReadIfRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void StartNextWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Lets the call complete (once): no operation is started after this.
  void ReleaseHold() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Ends the stream on a message it cannot take: reads no more, and tells the server (which
  // might otherwise stream, or wait, for good). Finish() returns `why`.
  void Refuse(absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Takes a received frame apart into `message` and `attachment`; false (and bad_message_)
  // when it does not parse.
  bool Decode(const grpc::ByteBuffer& frame, google::protobuf::MessageLite* message,
              Attachment* attachment) ABSL_LOCKS_EXCLUDED(mutex_);

  // Set by the constructor. grpc_context_ is filled in before Start() hands it to gRPC;
  // after that only gRPC's thread-safe calls (TryCancel, the metadata it received) use it.
  const std::string path_;  // gRPC keeps a pointer to the method name
  const MethodKind kind_;
  google::protobuf::MessageLite* const response_;
  ClientContext* const context_;
  grpc::ClientContext grpc_context_;

  absl::Mutex mutex_;
  grpc_internal::FrameQueue writes_ ABSL_GUARDED_BY(mutex_);  // the front is in flight
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mutex_) = false;  // WritesDone() was called
  bool writes_done_sent_ ABSL_GUARDED_BY(mutex_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mutex_) = false;     // the call ended under a write
  grpc::ByteBuffer read_buffer_ ABSL_GUARDED_BY(mutex_);  // gRPC's while a read is in flight
  grpc_internal::FrameQueue received_ ABSL_GUARDED_BY(mutex_);
  bool reading_ ABSL_GUARDED_BY(mutex_) = false;
  bool read_done_ ABSL_GUARDED_BY(mutex_) = false;  // no more messages come
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;   // Finish(): messages are dropped
  bool held_ ABSL_GUARDED_BY(mutex_) = true;
  bool cancel_sent_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;  // OnDone ran: status_ is the outcome
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  absl::Status bad_message_ ABSL_GUARDED_BY(mutex_);
  // Finish() was called. Only the stream's user (Finish, the destructor) touches it, never
  // gRPC's threads: it needs no lock.
  bool finish_called_ = false;
};

std::unique_ptr<ClientStream> GrpcChannel::OpenStream(const Method& method,
                                                      const google::protobuf::MessageLite* request,
                                                      google::protobuf::MessageLite* response,
                                                      ClientContext* context) {
  if (method.kind == MethodKind::kUnary) {
    return std::make_unique<FailedClientStream>(absl::InvalidArgumentError(
        absl::StrCat(method.path, " is unary: call it, do not open a stream of it")));
  }
  if (method.kind == MethodKind::kServerStreaming && request == nullptr) {
    return std::make_unique<FailedClientStream>(
        absl::InvalidArgumentError(absl::StrCat(method.path, " needs its request")));
  }
  if (context != nullptr && !context->metadata().empty()) {
    // Unsent: gRPC aborts the process on metadata it cannot send.
    if (absl::Status status = CheckMetadata(context->metadata(), "the call's metadata");
        !status.ok()) {
      return std::make_unique<FailedClientStream>(std::move(status));
    }
  }
  auto stream = std::make_unique<Stream>(stub_, method, request, response, context);
  stream->Start();
  return stream;
}

GrpcChannel::Stream::Stream(grpc::GenericStub& stub, const Method& method,
                            const google::protobuf::MessageLite* request,
                            google::protobuf::MessageLite* response, ClientContext* context)
    : path_(method.path), kind_(method.kind), response_(response), context_(context) {
  if (context != nullptr) {
    grpc_internal::SetGrpcDeadline(context->deadline(), grpc_context_);
    for (const auto& [key, value] : context->metadata()) grpc_context_.AddMetadata(key, value);
  }
  grpc_context_.AddMetadata(grpc_internal::kStreamAttachmentsKey, "1");
  grpc_context_.AddMetadata(grpc_internal::kMethodKindKey,
                            std::string(grpc_internal::MethodKindName(kind_)));
  stub.PrepareBidiStreamingCall(&grpc_context_, path_, grpc::StubOptions(), this);
  AddHold();
  absl::MutexLock lock(&mutex_);  // no reaction runs before Start()
  if (kind_ == MethodKind::kServerStreaming) {
    // The one request, with the context's attachment, and the end of the client's side.
    std::span<const std::byte> attachment;
    if (context != nullptr) attachment = std::as_const(context->request_attachment()).data();
    grpc::ByteBuffer frame =
        grpc_internal::EncodeFrame(grpc_internal::FrameMessage::Of(*request), attachment);
    writes_.Push(frame);
    writes_done_ = true;
    StartNextWrite();
  }
  // Every kind reads: a client-streaming rpc's one response comes as a message too.
  StartReadIfRoom();
}

void GrpcChannel::Stream::Start() { StartCall(); }

GrpcChannel::Stream::~Stream() {
  if (!finish_called_) grpc_context_.TryCancel();  // destroyed before Finish(): give it up
  absl::MutexLock lock(&mutex_);
  draining_ = true;
  ReleaseHold();
  // gRPC calls OnDone once every operation has ended; only then may the reactor go.
  mutex_.Await(absl::Condition(&done_));
}

template <typename Ready>
void GrpcChannel::Stream::WaitFor(Ready ready) {
  while (!ready()) {
    if (context_ == nullptr || cancel_sent_) {
      mutex_.Await(absl::Condition(&ready));
      return;
    }
    if (context_->cancel_requested()) {
      grpc_context_.TryCancel();
      cancel_sent_ = true;
      continue;
    }
    mutex_.AwaitWithTimeout(absl::Condition(&ready), kCancelCheck);
  }
}

void GrpcChannel::Stream::StartReadIfRoom() {
  if (reading_ || read_done_ || !held_ || !received_.HasRoom()) {
    return;
  }
  reading_ = true;
  StartRead(&read_buffer_);
}

void GrpcChannel::Stream::StartNextWrite() {
  if (writing_ || !held_) return;
  if (!writes_.empty()) {
    writing_ = true;
    StartWrite(&writes_.front());
  } else if (writes_done_ && !writes_done_sent_) {
    writes_done_sent_ = true;
    StartWritesDone();
  }
}

void GrpcChannel::Stream::ReleaseHold() {
  if (!held_) return;
  held_ = false;
  RemoveHold();
}

void GrpcChannel::Stream::Refuse(absl::Status why) {
  if (bad_message_.ok()) bad_message_ = std::move(why);
  read_done_ = true;
  received_.Clear();
  if (!cancel_sent_) {
    grpc_context_.TryCancel();
    cancel_sent_ = true;
  }
}

void GrpcChannel::Stream::OnReadDone(bool ok) {
  absl::MutexLock lock(&mutex_);
  reading_ = false;
  if (!ok) {
    read_done_ = true;
    return;
  }
  if (read_done_) {  // refused (Refuse): what was in flight is dropped, nothing more read
    read_buffer_.Clear();
    return;
  }
  if (kind_ == MethodKind::kClientStreaming && !received_.empty()) [[unlikely]] {
    read_buffer_.Clear();
    Refuse(absl::InternalError(absl::StrCat("the server sent more than one response to ", path_,
                                            ", a client-streaming rpc")));
    return;
  }
  if (!draining_ || kind_ == MethodKind::kClientStreaming) received_.Push(read_buffer_);
  read_buffer_.Clear();
  // A reaction may start an operation whether or not the user still holds the call.
  if (!reading_ && (draining_ || received_.HasRoom())) {
    reading_ = true;
    StartRead(&read_buffer_);
  }
}

void GrpcChannel::Stream::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mutex_);
  writing_ = false;
  writes_.DropFront();
  if (!ok) {
    write_failed_ = true;
    writes_.Clear();
    return;
  }
  if (!writes_.empty()) {
    writing_ = true;
    StartWrite(&writes_.front());
  } else if (writes_done_ && !writes_done_sent_) {
    writes_done_sent_ = true;
    StartWritesDone();
  }
}

void GrpcChannel::Stream::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mutex_);
  status_ = status;
  read_done_ = true;
  done_ = true;
}

absl::Status GrpcChannel::Stream::Write(const google::protobuf::MessageLite& message,
                                        Attachment* attachment, bool wait) {
  absl::MutexLock lock(&mutex_);
  if (writes_done_) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": Write() after WritesDone()"));
  }
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return write_failed_ || read_done_ || writes_.HasRoom();
  };
  if (wait) {
    WaitFor(room);
  } else if (!room()) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path_, ": the stream's window (", grpc_internal::kStreamWindow,
                     " messages or ", grpc_internal::kStreamWindowBytes, " bytes) is full"));
  }
  // The server ended its side: whatever it said, Finish() gives it.
  if (write_failed_ || read_done_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": the stream has ended; Finish() says why"));
  }
  grpc::ByteBuffer frame = grpc_internal::EncodeFrame(grpc_internal::FrameMessage::Of(message),
                                                      std::as_const(*attachment).data());
  writes_.Push(frame);
  *attachment = Attachment();
  StartNextWrite();
  return absl::OkStatus();
}

absl::Status GrpcChannel::Stream::WritesDone() {
  absl::MutexLock lock(&mutex_);
  if (writes_done_) return absl::OkStatus();
  writes_done_ = true;
  if (!write_failed_) StartNextWrite();
  return absl::OkStatus();
}

bool GrpcChannel::Stream::Read(google::protobuf::MessageLite* message, Attachment* attachment) {
  if (kind_ == MethodKind::kClientStreaming) return false;
  grpc::ByteBuffer frame;
  {
    absl::MutexLock lock(&mutex_);
    WaitFor([this]()
                ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return !received_.empty() || read_done_; });
    if (received_.empty()) return false;
    received_.PopFront(&frame);
    StartReadIfRoom();
  }
  return Decode(frame, message, attachment);
}

bool GrpcChannel::Stream::Decode(const grpc::ByteBuffer& frame,
                                 google::protobuf::MessageLite* message, Attachment* attachment) {
  // The server's initial metadata has come by the time any of its messages has.
  const auto& metadata = grpc_context_.GetServerInitialMetadata();
  const bool framed = metadata.find(grpc_internal::kStreamAttachmentsKey) != metadata.end();
  const std::string bytes = grpc_internal::FrameMessageBytes(frame, frame.Length());
  absl::StatusOr<grpc_internal::FrameLayout> layout =
      framed ? grpc_internal::DecodeStreamFrame(bytes)
             : grpc_internal::FrameLayout{.message_size = bytes.size()};
  absl::Status status = layout.status();
  if (status.ok() &&
      !message->ParseFromArray(bytes.data(), static_cast<int>(layout->message_size))) {
    status = absl::InvalidArgumentError(
        absl::StrFormat("a message of %s (%d bytes) does not parse as %s", path_,
                        layout->message_size, message->GetTypeName()));
  }
  if (!status.ok()) {
    absl::MutexLock lock(&mutex_);
    Refuse(std::move(status));
    return false;
  }
  if (attachment != nullptr) {
    Attachment received;
    if (layout->attachment_size > 0) {
      received = Attachment::FromBytes(std::as_bytes(
          std::span(bytes.data() + layout->attachment_offset, layout->attachment_size)));
    }
    *attachment = std::move(received);
  }
  return true;
}

absl::Status GrpcChannel::Stream::Finish() {
  finish_called_ = true;
  grpc::ByteBuffer response;
  bool has_response = false;
  absl::Status bad_message;
  grpc::Status status;
  {
    absl::MutexLock lock(&mutex_);
    // Messages not read are dropped, and read on until the server ends the call.
    draining_ = true;
    if (kind_ != MethodKind::kClientStreaming) received_.Clear();
    StartReadIfRoom();
    ReleaseHold();
    WaitFor([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return done_; });
    status = status_;
    bad_message = bad_message_;
    if (context_ != nullptr) {
      // The call is over: gRPC has filled both, whatever the status.
      Metadata metadata;
      grpc_internal::AddFromGrpcMetadata(grpc_context_.GetServerInitialMetadata(), &metadata);
      grpc_internal::AddFromGrpcMetadata(grpc_context_.GetServerTrailingMetadata(), &metadata);
      context_->set_server_trailing_metadata(std::move(metadata));
    }
    if (!received_.empty()) {
      received_.PopFront(&response);
      has_response = true;
    }
  }
  // A message refused cancelled the call: what was wrong with it is the outcome.
  if (!bad_message.ok()) return bad_message;
  if (!status.ok()) return grpc_internal::FromGrpcStatus(status);
  if (kind_ != MethodKind::kClientStreaming) return absl::OkStatus();
  if (!has_response) {
    return absl::InternalError(absl::StrCat(path_, " ended OK without its response"));
  }
  if (response_ == nullptr) return absl::OkStatus();
  Attachment attachment;
  if (!Decode(response, response_, &attachment)) {
    absl::MutexLock lock(&mutex_);
    return bad_message_;
  }
  if (context_ != nullptr && attachment.size() > 0) {
    context_->response_attachment() = std::move(attachment);
  }
  return absl::OkStatus();
}

}  // namespace syslink::rpc
