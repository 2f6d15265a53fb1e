#include "rpc/grpc/grpc_channel.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "rpc/grpc/internal/grpc_deadline.h"
#include "rpc/grpc/message_frame.h"
#include "rpc/grpc/status_map.h"
#include "rpc/metadata.h"

namespace syslink::rpc {
namespace {

// A waiting call looks at its context's cancel flag this often (as LinkChannel does).
constexpr absl::Duration kCancelCheck = absl::Milliseconds(10);

// OK, or why a call with `context` must not be sent: metadata gRPC would refuse (it
// aborts the process on a key it cannot send) or syslink's rules forbid.
absl::Status CheckContext(const ClientContext* context) {
  if (context == nullptr || context->metadata().empty()) return absl::OkStatus();
  return CheckMetadata(context->metadata(), "the call's metadata");
}

}  // namespace

struct GrpcChannel::Outstanding {
  std::string path;  // gRPC keeps a pointer to the method name while it starts the call
  google::protobuf::MessageLite* response = nullptr;
  ClientContext* context = nullptr;
  DoneCallback done;  // async calls
  grpc::ClientContext grpc_context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer reply;
  grpc::Status status;
  absl::Status unsent;       // why the call was not started (its context's metadata)
  bool finished = false;     // async: guarded by GrpcChannel::mutex_
  bool cancel_sent = false;  // async: guarded by GrpcChannel::mutex_
  bool dropped = false;      // async: cancelled by the channel's destructor
};

std::shared_ptr<grpc::Channel> CreateGrpcChannel(const std::string& target,
                                                 const GrpcChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  args.SetInt(GRPC_ARG_MAX_METADATA_SIZE, grpc_internal::kMaxGrpcMetadataBytes);
  if (options.keepalive_time > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
    // gRPC stops pinging after two pings with no data sent between: a call quiet for
    // longer (a slow method, an idle stream) would never find its host gone.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options.credentials ? options.credentials : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(target, credentials, args);
}

GrpcChannel::GrpcChannel(std::shared_ptr<grpc::ChannelInterface> channel)
    : channel_(std::move(channel)), stub_(channel_) {}

GrpcChannel::~GrpcChannel() {
  std::list<std::unique_ptr<Outstanding>> calls;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  {
    absl::MutexLock lock(&mutex_);
    for (auto& call : async_) {
      if (!call->finished) {
        call->grpc_context.TryCancel();
        call->dropped = true;
      }
    }
    // gRPC runs every call's completion, cancelled or not; only then may it be freed.
    mutex_.Await(absl::Condition(
        +[](GrpcChannel* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
          return self->async_finished_ == self->async_.size();
        },
        this));
    calls.swap(async_);
    async_finished_ = 0;
    queues.swap(idle_queues_);
  }
  for (std::unique_ptr<grpc::CompletionQueue>& queue : queues) {
    queue->Shutdown();
    void* tag;
    bool ok;
    while (queue->Next(&tag, &ok)) {
    }
  }
  for (auto& call : calls) {
    // A call answered before the cancel gets its answer: the server carried it out.
    const bool cancelled_here =
        call->dropped && call->status.error_code() == grpc::StatusCode::CANCELLED;
    call->done(cancelled_here ? absl::CancelledError("the channel was destroyed") : Finish(*call));
  }
}

size_t GrpcChannel::answered() const {
  absl::MutexLock lock(&mutex_);
  return async_finished_;
}

absl::StatusOr<Attachment> GrpcChannel::AllocateAttachment(size_t bytes) {
  Attachment attachment = Attachment::FromBytes({});
  attachment.resize(bytes);
  return attachment;
}

void GrpcChannel::Prepare(Outstanding& call, const google::protobuf::MessageLite& request) {
  std::span<const std::byte> attachment;
  if (call.context != nullptr) {
    grpc_internal::SetGrpcDeadline(call.context->deadline(), call.grpc_context);
    for (const auto& [key, value] : call.context->metadata()) {
      call.grpc_context.AddMetadata(key, value);
    }
    attachment = std::as_const(call.context->request_attachment()).data();
    if (!attachment.empty()) {
      call.grpc_context.AddMetadata(grpc_internal::kAttachmentSizeKey,
                                    absl::StrCat(attachment.size()));
    }
  }
  call.request = grpc_internal::EncodeFrame(grpc_internal::FrameMessage::Of(request), attachment);
}

absl::Status GrpcChannel::Finish(Outstanding& call) {
  if (!call.unsent.ok()) return call.unsent;
  if (call.context != nullptr) {
    // Whatever the status: the server's initial metadata (empty when none came) and its
    // trailing metadata.
    Metadata metadata;
    grpc_internal::AddFromGrpcMetadata(call.grpc_context.GetServerInitialMetadata(), &metadata);
    grpc_internal::AddFromGrpcMetadata(call.grpc_context.GetServerTrailingMetadata(), &metadata);
    call.context->set_server_trailing_metadata(std::move(metadata));
  }
  if (absl::Status status = grpc_internal::FromGrpcStatus(call.status); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::optional<size_t>> attachment_size =
      grpc_internal::AttachmentSizeIn(call.grpc_context.GetServerInitialMetadata());
  if (!attachment_size.ok()) return attachment_size.status();
  absl::StatusOr<grpc_internal::FrameLayout> layout =
      grpc_internal::DecodeFrame(call.reply, *attachment_size);
  if (!layout.ok()) return layout.status();
  const std::string bytes = grpc_internal::FrameMessageBytes(call.reply, layout->message_size);
  if (!call.response->ParseFromString(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the response to %s (%d bytes) does not parse as %s", call.path,
                        bytes.size(), call.response->GetTypeName()));
  }
  if (call.context != nullptr && layout->attachment_size > 0) {
    Attachment attachment = Attachment::FromBytes({});
    attachment.resize(layout->attachment_size);
    grpc_internal::CopyFrameBytes(call.reply, layout->attachment_offset, attachment.data());
    call.context->response_attachment() = std::move(attachment);
  }
  return absl::OkStatus();
}

absl::Status GrpcChannel::Call(const Method& method, const google::protobuf::MessageLite& request,
                               google::protobuf::MessageLite* response, ClientContext* context) {
  if (absl::Status unsent = CheckContext(context); !unsent.ok()) return unsent;
  Outstanding call;
  call.path = std::string(method.path);
  call.response = response;
  call.context = context;
  Prepare(call, request);
  // The calling thread drives the call on a completion queue of its own, as a stub of
  // grpc_cpp_plugin's does: no other thread is woken to hand it the reply. The queue is
  // the thread's alone for the call, and kept for a later call once the call is done.
  std::unique_ptr<grpc::CompletionQueue> owned_queue;
  {
    absl::MutexLock lock(&mutex_);
    if (!idle_queues_.empty()) {
      owned_queue = std::move(idle_queues_.back());
      idle_queues_.pop_back();
    }
  }
  if (owned_queue == nullptr) owned_queue = std::make_unique<grpc::CompletionQueue>();
  grpc::CompletionQueue& queue = *owned_queue;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader =
      stub_.PrepareUnaryCall(&call.grpc_context, call.path, call.request, &queue);
  reader->StartCall();
  reader->Finish(&call.reply, &call.status, &call);
  void* tag = nullptr;
  bool ok = false;
  if (context == nullptr) {
    (void)queue.Next(&tag, &ok);
  } else {
    bool cancel_sent = false;
    while (queue.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + kCancelCheck)) ==
           grpc::CompletionQueue::TIMEOUT) {
      if (!cancel_sent && context->cancel_requested()) {
        call.grpc_context.TryCancel();
        cancel_sent = true;
      }
    }
  }
  // The call's one event came: the queue holds nothing more.
  reader.reset();
  {
    absl::MutexLock lock(&mutex_);
    idle_queues_.push_back(std::move(owned_queue));
  }
  absl::Status status = Finish(call);
  CompleteFinished(absl::InfinitePast());  // async calls that finished meanwhile
  return status;
}

void GrpcChannel::CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                            google::protobuf::MessageLite* response, ClientContext* context,
                            DoneCallback done) {
  auto owned = std::make_unique<Outstanding>();
  Outstanding& call = *owned;
  call.path = std::string(method.path);
  call.response = response;
  call.context = context;
  call.done = std::move(done);
  call.unsent = CheckContext(context);
  {
    absl::MutexLock lock(&mutex_);
    async_.push_back(std::move(owned));
    if (!call.unsent.ok()) {
      // Completed, unsent, by whoever drives the channel next, as any async call.
      call.finished = true;
      ++async_finished_;
      return;
    }
  }
  Prepare(call, request);
  stub_.UnaryCall(&call.grpc_context, call.path, grpc::StubOptions(), &call.request, &call.reply,
                  [this, &call](grpc::Status status) {
                    absl::MutexLock lock(&mutex_);
                    call.status = std::move(status);
                    call.finished = true;
                    ++async_finished_;
                  });
}

void GrpcChannel::CancelRequested() {
  for (auto& call : async_) {
    if (call->context != nullptr && !call->finished && !call->cancel_sent &&
        call->context->cancel_requested()) {
      call->grpc_context.TryCancel();
      call->cancel_sent = true;
    }
  }
}

size_t GrpcChannel::CompleteFinished(absl::Time until) {
  std::vector<std::unique_ptr<Outstanding>> finished;
  size_t left;
  {
    absl::MutexLock lock(&mutex_);
    CancelRequested();
    mutex_.AwaitWithDeadline(
        absl::Condition(
            +[](GrpcChannel* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
              return self->async_finished_ > 0 || self->async_.empty();
            },
            this),
        until);
    for (auto it = async_.begin(); it != async_.end();) {
      if ((*it)->finished) {
        finished.push_back(std::move(*it));
        it = async_.erase(it);
      } else {
        ++it;
      }
    }
    async_finished_ = 0;
    left = async_.size();
  }
  for (auto& call : finished) call->done(Finish(*call));
  return left;
}

size_t GrpcChannel::Drain(absl::Time deadline) {
  while (true) {
    // Wake now and then to pass on a TryCancel() (it sets a flag; nothing signals it).
    const absl::Time until = std::min(deadline, absl::Now() + kCancelCheck);
    const size_t left = CompleteFinished(until);
    if (left == 0 || absl::Now() >= deadline) return left;
  }
}

}  // namespace syslink::rpc
