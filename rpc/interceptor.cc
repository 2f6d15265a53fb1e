#include "rpc/interceptor.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace syslink::rpc {
namespace {

// Runs the BeforeCall hooks in order until one refuses; returns how many let the call
// through, leaving the refusal (or OK) in `status`.
template <typename Interceptors, typename Context>
size_t RunBefore(const Interceptors& interceptors, const CallInfo& call, Context& context,
                 absl::Status& status) {
  size_t passed = 0;
  for (const auto& interceptor : interceptors) {
    status = interceptor->BeforeCall(call, context);
    if (!status.ok()) break;
    ++passed;
  }
  return passed;
}

// Runs the AfterCall hooks of the first `passed` interceptors, last first.
template <typename Interceptors, typename Context>
void RunAfter(const Interceptors& interceptors, size_t passed, const CallInfo& call,
              Context& context, absl::Status& status) {
  for (size_t i = passed; i-- > 0;) interceptors[i]->AfterCall(call, context, status);
}

using SharedInterceptors = std::shared_ptr<const ClientInterceptors>;

// A stream whose interceptors see its end: at Finish(), or when destroyed before it.
class InterceptedStream final : public ClientStream {
 public:
  InterceptedStream(SharedInterceptors interceptors, const Method& method, absl::Time start,
                    std::unique_ptr<ClientContext> owned, ClientContext* context)
      : interceptors_(std::move(interceptors)),
        method_(&method),
        start_(start),
        owned_(std::move(owned)),
        context_(context) {}
  void set_stream(std::unique_ptr<ClientStream> stream) { stream_ = std::move(stream); }

  ~InterceptedStream() override {
    if (final_) return;
    stream_.reset();  // gives the stream up, on both sides
    absl::Status status = absl::CancelledError("the stream was destroyed before Finish()");
    RunAfter(*interceptors_, interceptors_->size(), {*method_, start_}, *context_, status);
  }

  absl::Status Write(const google::protobuf::MessageLite& message, Attachment* attachment,
                     bool wait) override {
    return stream_->Write(message, attachment, wait);
  }
  absl::Status WritesDone() override { return stream_->WritesDone(); }
  bool Read(google::protobuf::MessageLite* message, Attachment* attachment) override {
    return stream_->Read(message, attachment);
  }
  absl::Status Finish() override {
    absl::Status status = stream_->Finish();
    if (!final_) {
      RunAfter(*interceptors_, interceptors_->size(), {*method_, start_}, *context_, status);
      final_ = status;
    }
    return *final_;
  }

 private:
  SharedInterceptors interceptors_;
  const Method* method_;
  absl::Time start_;
  std::unique_ptr<ClientContext> owned_;  // before stream_: outlives it
  ClientContext* context_;
  std::unique_ptr<ClientStream> stream_;
  std::optional<absl::Status> final_;
};

class InterceptedChannel final : public Channel {
 public:
  InterceptedChannel(std::shared_ptr<Channel> channel, ClientInterceptors interceptors)
      : channel_(std::move(channel)),
        interceptors_(std::make_shared<const ClientInterceptors>(std::move(interceptors))) {}

  absl::Status Call(const Method& method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, ClientContext* context) override {
    std::optional<ClientContext> owned;
    if (context == nullptr) context = &owned.emplace();
    const CallInfo call{method, absl::Now()};
    if (absl::Status refused = Admit(call, *context); !refused.ok()) return refused;
    absl::Status status = channel_->Call(method, request, response, context);
    RunAfter(*interceptors_, interceptors_->size(), call, *context, status);
    return status;
  }

  void CallAsync(const Method& method, const google::protobuf::MessageLite& request,
                 google::protobuf::MessageLite* response, ClientContext* context,
                 DoneCallback done) override {
    std::shared_ptr<ClientContext> owned;
    if (context == nullptr) {
      owned = std::make_shared<ClientContext>();
      context = owned.get();
    }
    const absl::Time start = absl::Now();
    if (absl::Status refused = Admit({method, start}, *context); !refused.ok()) {
      done(std::move(refused));
      return;
    }
    channel_->CallAsync(
        method, request, response, context,
        [interceptors = interceptors_, &method, start, context, owned,
         done = std::move(done)](absl::Status status) {
          RunAfter(*interceptors, interceptors->size(), {method, start}, *context, status);
          done(std::move(status));
        });
  }

  size_t Drain(absl::Time deadline) override { return channel_->Drain(deadline); }

  std::unique_ptr<ClientStream> OpenStream(const Method& method,
                                           const google::protobuf::MessageLite* request,
                                           google::protobuf::MessageLite* response,
                                           ClientContext* context) override {
    std::unique_ptr<ClientContext> owned;
    if (context == nullptr) {
      owned = std::make_unique<ClientContext>();
      context = owned.get();
    }
    const absl::Time start = absl::Now();
    if (absl::Status refused = Admit({method, start}, *context); !refused.ok()) {
      return std::make_unique<FailedClientStream>(std::move(refused));
    }
    auto stream = std::make_unique<InterceptedStream>(interceptors_, method, start,
                                                      std::move(owned), context);
    stream->set_stream(channel_->OpenStream(method, request, response, context));
    return stream;
  }

  absl::StatusOr<Attachment> AllocateAttachment(size_t bytes) override {
    return channel_->AllocateAttachment(bytes);
  }

 private:
  // Runs every BeforeCall hook. A refusal comes back after the AfterCall hooks of the
  // interceptors that let the call through have seen it; OK: the call goes on.
  absl::Status Admit(const CallInfo& call, ClientContext& context) const {
    absl::Status status;
    const size_t passed = RunBefore(*interceptors_, call, context, status);
    if (passed < interceptors_->size()) RunAfter(*interceptors_, passed, call, context, status);
    return status;
  }

  std::shared_ptr<Channel> channel_;
  SharedInterceptors interceptors_;
};

}  // namespace

std::shared_ptr<Channel> InterceptChannel(std::shared_ptr<Channel> channel,
                                          ClientInterceptors interceptors) {
  if (interceptors.empty()) return channel;
  return std::make_shared<InterceptedChannel>(std::move(channel), std::move(interceptors));
}

InterceptedService::InterceptedService(Service* service, ServerInterceptors interceptors)
    : service_(service), interceptors_(std::move(interceptors)) {}

absl::Status InterceptedService::Dispatch(ServerCall& call) {
  const Method* method = nullptr;
  for (const Method& known : service_->methods()) {
    if (known.id == call.method_id()) {
      method = &known;
      break;
    }
  }
  // A method the service does not list: named by its id.
  std::string unknown_path;
  Method unknown{call.method_id(), "", MethodKind::kUnary};
  if (method == nullptr) {
    unknown_path = absl::StrCat("(method ", call.method_id(), ")");
    unknown.path = unknown_path;
    method = &unknown;
  }
  const CallInfo info{*method, absl::Now()};
  ServerContext& context = call.context();
  absl::Status status;
  const size_t passed = RunBefore(interceptors_, info, context, status);
  // The response waits here until the interceptors have had their say.
  ServerCall held(call.method_id(), call.request(), &context);
  held.set_stream(call.stream());
  if (passed == interceptors_.size()) status = service_->Dispatch(held);
  RunAfter(interceptors_, passed, info, context, status);
  if (status.ok() && held.has_response()) {
    const std::string& bytes = held.response_bytes();
    call.SetSerializedResponse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  }
  return status;
}

}  // namespace syslink::rpc
