// Streaming rpcs: the readers and writers generated stubs and services hand out.
//
//   // rpc ListFeatures(Rectangle) returns (stream Feature);      server streaming
//   ClientContext context;
//   std::unique_ptr<ClientReader<Feature>> reader = stub.ListFeatures(rectangle, &context);
//   Feature feature;
//   while (reader->Read(&feature)) Show(feature);
//   absl::Status status = reader->Finish();
//
//   // rpc RecordRoute(stream Point) returns (RouteSummary);      client streaming
//   RouteSummary summary;
//   auto writer = stub.RecordRoute(&summary, &context);
//   for (const Point& point : points) if (!writer->Write(point)) break;
//   writer->WritesDone();
//   absl::Status status = writer->Finish();                      // fills `summary`
//
//   // rpc RouteChat(stream RouteNote) returns (stream RouteNote); bidi streaming
//   auto stream = stub.RouteChat(&context);                      // Write, WritesDone, Read,
//                                                                // Finish, from two threads
// Asynchronous forms: `stub.ListFeaturesAsync(rectangle, &context, on_message, done)`;
// a bidi stream's ReadAsync(on_message, done) while the caller writes; a client-streaming
// writer's FinishAsync(done) after WritesDone(). Callbacks run on a thread of the stream's.
//   // Server side, in the service:
//   absl::Status ListFeatures(ServerContext& context, const Rectangle& request,
//                             ServerWriter<Feature>* writer) override {
//     for (const Feature& feature : Find(request)) {
//       if (!writer->Write(feature)) break;  // the caller has gone
//     }
//     return absl::OkStatus();               // the stream's final status
//   }
//
// Flow control: each side keeps a bounded window of messages in flight (the channel's
// stream window, LinkChannelOptions::stream_window). A writer whose reader is slow waits in
// Write() (TryWrite() does not wait: RESOURCE_EXHAUSTED), so memory stays bounded on both
// sides. Every stream message is a request answered exactly once (docs/wire-format.md,
// "RPC streams"; docs/rpc.md, "Streaming rpcs").
//
// Ending: the stream's final status is the method's return value, given by Finish(). A
// reader's Read() returns false once no message will come: the server returned, the
// stream failed (Finish() says why), or, on the server, the client called WritesDone(). A
// Write() returns false once the message cannot be delivered (the method returned, or the
// stream failed). When the peer's process dies, Read() and Write() return false and
// Finish() gives UNAVAILABLE with syslink's PEER_DIED payload (syslink::IsPeerDied). The
// context's deadline and TryCancel() end the stream on both sides: the client's Finish()
// gives DEADLINE_EXCEEDED or CANCELLED, and the method sees ServerContext::cancelled(), its
// Read() and Write() returning false.
//
// Attachments: each message may carry one (Write(message, attachment) and Read(&message,
// &attachment)), zero-copy over a link when it came from the channel's AllocateAttachment()
// or the server context's; a stream of 128 KiB attachments moves a large file.
//
// Thread safety: one thread may read while another writes; Finish() after the last Read().
// Ownership: a client stream must not outlive its channel or its context. Destroying one
// that was not finished cancels it.

#ifndef SYSLINK_RPC_STREAM_H_
#define SYSLINK_RPC_STREAM_H_

#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"
#include "rpc/attachment.h"

namespace syslink::rpc {

// The transport of one stream, client side: what a Channel opens (Channel::OpenStream).
class ClientStream {
 public:
  virtual ~ClientStream() = default;

  // Sends `message` and `attachment` (taken only when this returns OK; but an attachment
  // from AllocateAttachment(), lent as it is, is lost when the link itself fails the send:
  // the link is closed then, or its ring stayed full until the deadline). With `wait`, waits
  // while the window is full; without, RESOURCE_EXHAUSTED then. FAILED_PRECONDITION after
  // WritesDone(); once the stream ended, the reason it did.
  [[nodiscard]] virtual absl::Status Write(const google::protobuf::MessageLite& message,
                                           Attachment* attachment, bool wait) = 0;
  // Tells the server that no more messages come.
  [[nodiscard]] virtual absl::Status WritesDone() = 0;
  // The server's next message (and its attachment, if `attachment` is not null); false
  // when no more come.
  virtual bool Read(google::protobuf::MessageLite* message, Attachment* attachment) = 0;
  // Waits for the stream's final status (after the messages not read yet are dropped).
  [[nodiscard]] virtual absl::Status Finish() = 0;
};

// A stream that failed before it started: its status at every step.
class FailedClientStream final : public ClientStream {
 public:
  explicit FailedClientStream(absl::Status status) : status_(std::move(status)) {}
  absl::Status Write(const google::protobuf::MessageLite&, Attachment*, bool) override {
    return status_;
  }
  absl::Status WritesDone() override { return status_; }
  bool Read(google::protobuf::MessageLite*, Attachment*) override { return false; }
  absl::Status Finish() override { return status_; }

 private:
  absl::Status status_;
};

// The transport of one stream, server side: what a method's reader and writer use.
class ServerStream {
 public:
  virtual ~ServerStream() = default;
  // The client's next message; false after its WritesDone(), or when the stream ended.
  // A message that does not parse ends the stream too: false, and the context reads
  // cancelled() from then on.
  virtual bool Read(google::protobuf::MessageLite* message, Attachment* attachment) = 0;
  // Sends `message`, waiting while the client's window is full; false when the client no
  // longer reads (it cancelled, its deadline passed, it died).
  virtual bool Write(const google::protobuf::MessageLite& message, Attachment attachment) = 0;
};

// Client side.

// The asynchronous form of a server-streaming call (generated as `FooAsync`): reads the
// stream on a thread of its own, calling `on_message` with each message (its attachment,
// if any, readable until it returns) and then `done` once with the final status.
// `on_message` returning false stops reading: the rest is dropped and `done` gets the
// status Finish() gives. The stream's channel and context must live until `done` has run.
template <typename Response>
void ReadAsync(std::shared_ptr<ClientStream> stream,
               std::function<bool(Response&, Attachment&)> on_message,
               std::function<void(absl::Status)> done) {
  std::thread([stream = std::move(stream), on_message = std::move(on_message),
               done = std::move(done)]() mutable {
    Response message;
    Attachment attachment;
    while (stream->Read(&message, &attachment)) {
      if (!on_message(message, attachment)) break;
      attachment = Attachment();
    }
    absl::Status status = stream->Finish();
    stream.reset();  // before `done`: the caller may destroy the channel in it
    done(std::move(status));
  }).detach();
}

template <typename Response>
class ClientReader {
 public:
  explicit ClientReader(std::unique_ptr<ClientStream> stream) : stream_(std::move(stream)) {}
  bool Read(Response* message, Attachment* attachment = nullptr) {
    return stream_->Read(message, attachment);
  }
  [[nodiscard]] absl::Status Finish() { return stream_->Finish(); }

 private:
  std::unique_ptr<ClientStream> stream_;
};

template <typename Request>
class ClientWriter {
 public:
  explicit ClientWriter(std::unique_ptr<ClientStream> stream) : stream_(std::move(stream)) {}
  bool Write(const Request& message, Attachment attachment = {}) {
    return stream_->Write(message, &attachment, /*wait=*/true).ok();
  }
  // Does not wait for the window: RESOURCE_EXHAUSTED when it is full (`attachment`, if
  // any, is then left to the caller).
  [[nodiscard]] absl::Status TryWrite(const Request& message, Attachment* attachment = nullptr) {
    Attachment none;
    return stream_->Write(message, attachment != nullptr ? attachment : &none, /*wait=*/false);
  }
  bool WritesDone() { return stream_->WritesDone().ok(); }
  [[nodiscard]] absl::Status Finish() { return stream_->Finish(); }

  // The asynchronous form of Finish(), after WritesDone(): waits for the final status on a
  // thread of its own and calls `done` with it (the response is filled by then). The
  // writer may be destroyed at once; the channel, context and response must live until
  // `done` has run. Nothing else may be called after it.
  void FinishAsync(std::function<void(absl::Status)> done) {
    std::thread([stream = stream_, done = std::move(done)]() mutable {
      absl::Status status = stream->Finish();
      stream.reset();  // before `done`: the caller may destroy the channel in it
      done(std::move(status));
    }).detach();
  }

 private:
  std::shared_ptr<ClientStream> stream_;
};

template <typename Request, typename Response>
class ClientReaderWriter {
 public:
  explicit ClientReaderWriter(std::unique_ptr<ClientStream> stream) : stream_(std::move(stream)) {}
  ClientReaderWriter(const ClientReaderWriter&) = delete;
  ClientReaderWriter& operator=(const ClientReaderWriter&) = delete;
  // A stream read asynchronously whose writer goes before WritesDone() is half-closed
  // here: the server sees the end of the caller's messages, and `done` follows its end.
  ~ClientReaderWriter() {
    if (reading_async_ && !writes_done_) (void)stream_->WritesDone();
  }
  bool Write(const Request& message, Attachment attachment = {}) {
    return stream_->Write(message, &attachment, /*wait=*/true).ok();
  }
  [[nodiscard]] absl::Status TryWrite(const Request& message, Attachment* attachment = nullptr) {
    Attachment none;
    return stream_->Write(message, attachment != nullptr ? attachment : &none, /*wait=*/false);
  }
  bool WritesDone() {
    writes_done_ = true;
    return stream_->WritesDone().ok();
  }
  bool Read(Response* message, Attachment* attachment = nullptr) {
    return stream_->Read(message, attachment);
  }
  [[nodiscard]] absl::Status Finish() { return stream_->Finish(); }

  // The asynchronous form of reading: a thread of its own reads the server's messages,
  // calling `on_message` with each and then `done` once with the final status (ReadAsync()
  // above), while the caller goes on writing here (TryWrite() never waits). Called at
  // most once; Read() and Finish() are not called after it. The channel and context must
  // live until `done` has run.
  void ReadAsync(std::function<bool(Response&, Attachment&)> on_message,
                 std::function<void(absl::Status)> done) {
    reading_async_ = true;
    rpc::ReadAsync<Response>(stream_, std::move(on_message), std::move(done));
  }

 private:
  std::shared_ptr<ClientStream> stream_;
  bool reading_async_ = false;
  bool writes_done_ = false;
};

// Server side: views of the call's ServerStream, good while the method runs.

template <typename Request>
class ServerReader {
 public:
  explicit ServerReader(ServerStream* stream) : stream_(stream) {}
  bool Read(Request* message, Attachment* attachment = nullptr) {
    return stream_->Read(message, attachment);
  }

 private:
  ServerStream* stream_;
};

template <typename Response>
class ServerWriter {
 public:
  explicit ServerWriter(ServerStream* stream) : stream_(stream) {}
  bool Write(const Response& message, Attachment attachment = {}) {
    return stream_->Write(message, std::move(attachment));
  }

 private:
  ServerStream* stream_;
};

template <typename Response, typename Request>
class ServerReaderWriter {
 public:
  explicit ServerReaderWriter(ServerStream* stream) : stream_(stream) {}
  bool Read(Request* message, Attachment* attachment = nullptr) {
    return stream_->Read(message, attachment);
  }
  bool Write(const Response& message, Attachment attachment = {}) {
    return stream_->Write(message, std::move(attachment));
  }

 private:
  ServerStream* stream_;
};

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_STREAM_H_
