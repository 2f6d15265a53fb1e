#include "rpc/grpc/internal/async_call.h"

namespace syslink::rpc::grpc_internal {

namespace {

void* TagOf(CompletionTag* tag) { return tag; }

}  // namespace

grpc::GenericServerContext& AsyncReactor::context() { return call_->context_; }

void AsyncReactor::StartRead(grpc::ByteBuffer* buffer) {
  call_->pending_.fetch_add(1, std::memory_order_relaxed);
  call_->stream_.Read(buffer, TagOf(&call_->read_tag_));
}

void AsyncReactor::StartWrite(const grpc::ByteBuffer* buffer) {
  call_->pending_.fetch_add(1, std::memory_order_relaxed);
  call_->stream_.Write(*buffer, TagOf(&call_->write_tag_));
}

void AsyncReactor::StartWriteAndFinish(const grpc::ByteBuffer* buffer, grpc::WriteOptions options,
                                       const grpc::Status& status) {
  call_->stream_.WriteAndFinish(*buffer, options, status, TagOf(&call_->finish_tag_));
}

void AsyncReactor::Finish(const grpc::Status& status) {
  call_->stream_.Finish(status, TagOf(&call_->finish_tag_));
}

void AsyncCall::Request(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* queue,
                        Acceptor* acceptor) {
  auto* call = new AsyncCall(acceptor);
  // Must precede the request: the done tag comes once the call has ended, cancelled or not.
  call->context_.AsyncNotifyWhenDone(TagOf(&call->done_tag_));
  service->RequestCall(&call->context_, &call->stream_, queue, queue, TagOf(&call->arrived_tag_));
}

void AsyncCall::Start(AsyncReactor* reactor) {
  bool cancelled;
  {
    absl::MutexLock lock(&start_mutex_);
    reactor_ = reactor;
    cancelled = cancelled_before_start_;
  }
  if (cancelled) reactor->OnCancel();
}

void AsyncCall::Arrived(bool ok) {
  if (!ok) {  // the server is shutting down: no call, and no done tag will come
    delete this;
    return;
  }
  acceptor_->Accept(this);
}

void AsyncCall::ReadDone(bool ok) {
  reactor()->OnReadDone(ok);
  Unhold();
}

void AsyncCall::WriteDone(bool ok) {
  reactor()->OnWriteDone(ok);
  Unhold();
}

void AsyncCall::Finished(bool) { Unhold(); }

void AsyncCall::Done(bool) {
  const bool cancelled = context_.IsCancelled();
  AsyncReactor* reactor;
  {
    absl::MutexLock lock(&start_mutex_);
    reactor = reactor_;
    if (reactor == nullptr) cancelled_before_start_ = cancelled;
  }
  if (reactor != nullptr && cancelled) reactor->OnCancel();
  Unhold();  // the finish's hold stays: Start() comes first, then the reactor's Finish()
}

void AsyncCall::Unhold() {
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Acceptor* acceptor = acceptor_;
  reactor()->OnDone();
  delete this;
  acceptor->Ended();
}

}  // namespace syslink::rpc::grpc_internal
