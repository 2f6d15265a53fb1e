#include "rpc/grpc/internal/stream_reactor.h"

#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "rpc/grpc/message_frame.h"
#include "rpc/grpc/status_map.h"

namespace syslink::rpc::grpc_internal {

bool StreamThreads::Start(std::function<void()> task) {
  return Launch(std::move(task), /*stream=*/false);
}

bool StreamThreads::TakeStreamPlace() {
  absl::MutexLock lock(&count_->mutex);
  if (count_->streams >= max_streams_) return false;
  ++count_->streams;
  return true;
}

bool StreamThreads::StartStream(std::function<void()> task) {
  return Launch(std::move(task), /*stream=*/true);
}

bool StreamThreads::Launch(std::function<void()> task, bool stream) {
  {
    absl::MutexLock lock(&count_->mutex);
    ++count_->running;
  }
  auto body = [count = count_, task = std::move(task), stream] {
    task();
    absl::MutexLock lock(&count->mutex);
    --count->running;
    if (stream) --count->streams;
  };
  try {
    std::thread(std::move(body)).detach();
  } catch (const std::system_error&) {  // out of threads (RLIMIT_NPROC, the cgroup's pids)
    absl::MutexLock lock(&count_->mutex);
    --count_->running;
    if (stream) --count_->streams;
    return false;
  }
  return true;
}

void StreamThreads::Wait() {
  absl::MutexLock lock(&count_->mutex);
  count_->mutex.Await(absl::Condition(
      +[](Count* count) ABSL_EXCLUSIVE_LOCKS_REQUIRED(count->mutex) { return count->running == 0; },
      count_.get()));
}

StreamReactor::StreamReactor(AsyncCall* async_call, MethodKind kind, GrpcCallHandler* handler,
                             StreamThreads* threads, ReadAheadBudget* read_ahead)
    : AsyncReactor(async_call), handler_(handler), threads_(threads), received_(read_ahead) {
  call_.Bind(context());
  call_.kind_ = kind;
  framed_ =
      context().client_metadata().find(kStreamAttachmentsKey) != context().client_metadata().end();
  // This side may put attachments in its messages (message_frame.h, "Streams").
  context().AddInitialMetadata(kStreamAttachmentsKey, "1");
}

void StreamReactor::Begin() {
  if (!threads_->TakeStreamPlace()) return Refuse("this server runs as many streams as it may");
  {
    absl::MutexLock lock(&mutex_);
    StartReadIfRoom();
  }
  if (!threads_->StartStream([this] { Run(); })) {
    Refuse("this server can start no thread for the stream");
  }
}

void StreamReactor::Refuse(absl::string_view why) {
  Finish(ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(why, "; try again later"))));
  Release();  // the hold Run() would have given back
}

void StreamReactor::Release() {
  if (holds_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void StreamReactor::StartReadIfRoom() {
  if (reading_ || read_done_ || stop_reading_ || ended_ || !received_.MayRead(handler_waiting_)) {
    return;
  }
  reading_ = true;
  StartRead(&read_buffer_);
}

void StreamReactor::OnReadDone(bool ok) {
  absl::MutexLock lock(&mutex_);
  reading_ = false;
  if (!ok) {
    read_done_ = true;
    return;
  }
  if (stop_reading_ || ended_) {  // no handler will take it
    read_buffer_.Clear();
    return;
  }
  received_.Push(read_buffer_);
  StartReadIfRoom();
}

void StreamReactor::OnWriteDone(bool ok) {
  // A write fails only when the call has ended: the caller is gone. The method learns it
  // from cancelled() before Write() returns false, whichever of this and OnCancel comes
  // first.
  if (!ok) call_.Cancel();
  absl::MutexLock lock(&mutex_);
  writing_ = false;
  writes_.DropFront();
  if (!ok) {
    ended_ = true;
    writes_.Clear();
    received_.Clear();  // no handler will take them: Read() returns false from now on
    return;
  }
  if (!writes_.empty()) {
    writing_ = true;
    StartWrite(&writes_.front());
  }
}

void StreamReactor::OnCancel() {
  call_.Cancel();  // first: a method that sees Read() or Write() fail sees cancelled() too
  absl::MutexLock lock(&mutex_);
  ended_ = true;
  received_.Clear();  // Read() returns false from now on
}

void StreamReactor::OnDone() { Release(); }

void StreamReactor::StopReading() {
  absl::MutexLock lock(&mutex_);
  stop_reading_ = true;
  received_.Clear();
}

void StreamReactor::Fail(absl::Status status) {
  call_.Cancel();  // the method sees cancelled() and should return
  absl::MutexLock lock(&mutex_);
  if (failure_.ok()) failure_ = std::move(status);
  ended_ = true;
  received_.Clear();
}

bool StreamReactor::ReadBytes(std::string* message, Attachment* attachment) {
  grpc::ByteBuffer frame;
  {
    absl::MutexLock lock(&mutex_);
    // While it waits, the next message is read even when the budget is used up.
    handler_waiting_ = true;
    StartReadIfRoom();
    mutex_.Await(absl::Condition(
        +[](StreamReactor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
          return !self->received_.empty() || self->read_done_ || self->stop_reading_ ||
                 self->ended_;
        },
        this));
    handler_waiting_ = false;
    if (received_.empty() || stop_reading_ || ended_) return false;
    received_.PopFront(&frame);
    StartReadIfRoom();
  }
  *message = FrameMessageBytes(frame, frame.Length());
  absl::StatusOr<FrameLayout> layout =
      framed_ ? DecodeStreamFrame(*message) : FrameLayout{.message_size = message->size()};
  if (!layout.ok()) {
    Fail(layout.status());
    return false;
  }
  if (attachment != nullptr) {
    *attachment = layout->attachment_size == 0
                      ? Attachment()
                      : Attachment::FromBytes(std::as_bytes(std::span(
                            message->data() + layout->attachment_offset, layout->attachment_size)));
  }
  message->resize(layout->message_size);
  return true;
}

bool StreamReactor::Read(google::protobuf::MessageLite* message, Attachment* attachment) {
  std::string bytes;
  if (!ReadBytes(&bytes, attachment)) return false;
  if (message->ParseFromString(bytes)) return true;
  Fail(absl::InvalidArgumentError(absl::StrFormat("a message of %s (%d bytes) does not parse as %s",
                                                  call_.path().substr(0, 200), bytes.size(),
                                                  message->GetTypeName())));
  return false;
}

bool StreamReactor::Write(const google::protobuf::MessageLite& message, Attachment attachment) {
  grpc::ByteBuffer frame = EncodeFrame(FrameMessage::Of(message), std::as_const(attachment).data());
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](StreamReactor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
        return self->ended_ || self->writes_.HasRoom();
      },
      this));
  if (ended_) return false;
  writes_.Push(frame);
  if (!writing_) {
    writing_ = true;
    StartWrite(&writes_.front());
  }
  return true;
}

void StreamReactor::Run() {
  absl::Status status = call_.cancelled()
                            ? absl::CancelledError("the caller gave up before the call ran")
                            : handler_->HandleStream(call_, *this, &reply_);
  call_.DropCancelHook();
  {
    absl::MutexLock lock(&mutex_);
    stop_reading_ = true;
    received_.Clear();  // never to be read: their bytes go back to the budget now
    // The messages written go out before the status (a failed write empties the queue).
    mutex_.Await(absl::Condition(
        +[](StreamReactor* self)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) { return self->writes_.empty(); },
        this));
    if (!failure_.ok()) status = failure_;
  }
  if (absl::Status sent = AddTrailingMetadata(reply_.trailing_metadata, context()); !sent.ok()) {
    status = std::move(sent);
  }
  if (call_.deadline() != absl::InfiniteFuture() && absl::Now() >= call_.deadline()) {
    status = absl::DeadlineExceededError("the caller's deadline passed");
  }
  std::function<void()> after_reply = std::move(reply_.after_reply);
  if (status.ok() && reply_.has_message) {
    StartWriteAndFinish(&reply_.frame, grpc::WriteOptions(), grpc::Status::OK);
  } else {
    Finish(ToGrpcStatus(status));
  }
  if (after_reply) after_reply();
  Release();
}

}  // namespace syslink::rpc::grpc_internal
