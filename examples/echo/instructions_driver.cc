// Runs N 64-byte round trips of one layer, both sides in one thread, for counting
// instructions under callgrind (tools/count-instructions). Each side finds the other's
// message already there, so nothing waits or spins: what is counted is the software of
// the hot path alone.
//
//   instructions_driver <ring|ring-stream|link|stub-client|dispatch> <round trips>
//
//   ring         a record there and back over two rings (producer, consumer, release)
//   ring-stream  64-byte records one way in batches of 32; a "round trip" is one record
//   link         Link::Send, Receive and Reply, and Receive of the reply
//   stub-client  EchoStub::SayAsync and LinkChannel::Drain, the server's end echoing the
//                call's bytes with Link::Reply: the client's side of a stub call
//   dispatch     the server's generated Echo::Dispatch of a Say request: parsing it, the
//                method, serializing the response (into memory, as into a ring)

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "examples/echo/echo.syslink.h"
#include "examples/echo/echo_server.h"
#include "ring/ring_consumer.h"
#include "ring/ring_control.h"
#include "ring/ring_producer.h"
#include "rpc/link_channel.h"
#include "syslink/link.h"

namespace syslink {
namespace {

constexpr size_t kRingCapacity = 64 * 1024;
constexpr size_t kPayload = 64;

// A 64-byte record there and back over two rings.
int RingRoundTrips(long n) {
  ring::WaitOptions options{.mode = ring::WaitMode::kSpin};
  const size_t ring_bytes = ring::RingFootprint(kRingCapacity);
  auto* base = static_cast<std::byte*>(std::aligned_alloc(4096, 2 * ring_bytes));
  std::span<std::byte> there(base, ring_bytes), back(base + ring_bytes, ring_bytes);
  if (!ring::InitializeRing(there, options.mode).ok() ||
      !ring::InitializeRing(back, options.mode).ok()) {
    return 2;
  }
  auto out = ring::RingProducer::Attach(there, options);
  auto peer_in = ring::RingConsumer::Attach(there, options);
  auto peer_out = ring::RingProducer::Attach(back, options);
  auto in = ring::RingConsumer::Attach(back, options);
  std::vector<std::byte> payload(kPayload, std::byte{0x5a});
  const absl::Time deadline = absl::InfiniteFuture();
  for (long i = 0; i < n; ++i) {
    if (!out->Write(payload, deadline).ok()) return 3;
    auto request = peer_in->Read(deadline);
    if (!request.ok() || !peer_out->Write(request->payload, deadline).ok()) return 4;
    peer_in->Release();
    auto answer = in->Read(deadline);
    if (!answer.ok()) return 5;
    std::memcpy(payload.data(), answer->payload.data(), answer->payload.size());
    in->Release();
  }
  std::free(base);
  return 0;
}

// 64-byte records one way in batches of 32 (the ring's throughput benchmark's pattern):
// the producer reserves, fills, commits and publishes a batch, the consumer reads it and
// releases. One "round trip" here is one record.
int RingStreamRecords(long n) {
  constexpr long kBatch = 32;
  ring::WaitOptions options{.mode = ring::WaitMode::kSpin};
  const size_t ring_bytes = ring::RingFootprint(kRingCapacity);
  auto* base = static_cast<std::byte*>(std::aligned_alloc(4096, ring_bytes));
  std::span<std::byte> memory(base, ring_bytes);
  if (!ring::InitializeRing(memory, options.mode).ok()) return 2;
  auto producer = ring::RingProducer::Attach(memory, options);
  auto consumer = ring::RingConsumer::Attach(memory, options);
  std::byte record[kPayload] = {};
  std::byte copy[kPayload] = {};  // read below even when no record came
  for (long done = 0; done < n; done += kBatch) {
    const long batch = std::min(kBatch, n - done);
    for (long i = 0; i < batch; ++i) {
      absl::StatusOr<std::byte*> space = producer->TryReserve(kPayload);
      if (!space.ok() || *space == nullptr) return 3;
      record[0] = static_cast<std::byte>(done + i);
      std::memcpy(*space, record, kPayload);
      producer->Commit(kPayload);
    }
    producer->Publish();
    for (long i = 0; i < batch; ++i) {
      ring::Record next;
      if (!consumer->TryNext(next)) return 4;
      std::memcpy(copy, next.payload.data(), kPayload);
    }
    consumer->Release();
  }
  std::free(base);
  static volatile std::byte sink;
  sink = copy[0];  // the copies are kept: the benchmark's consumer copies each record out
  (void)sink;
  return 0;
}

// A link whose ends spin (they never wait here: each finds the other's message there).
absl::StatusOr<LinkPair> SpinningPair() {
  LinkOptions options;
  options.wait.mode = ring::WaitMode::kSpin;
  return Link::CreatePair(options);
}

// A 64-byte request and its 64-byte reply over a link.
int LinkRoundTrips(long n) {
  auto pair = SpinningPair();
  if (!pair.ok()) return 2;
  Link& client = pair->first;
  Link& server = pair->second;
  std::vector<std::byte> payload(kPayload, std::byte{0x5a});
  for (long i = 0; i < n; ++i) {
    if (!client.Send(1, payload).ok()) return 3;
    auto request = server.Receive(absl::InfinitePast());
    if (!request.ok() || !server.Reply(request->id, absl::OkStatus(), request->data).ok()) {
      return 4;
    }
    auto reply = client.Receive(absl::InfinitePast());
    if (!reply.ok() || !reply->status.ok()) return 5;
  }
  return 0;
}

// EchoStub::SayAsync with 64 bytes of text; the server's end echoes the call's bytes back
// (a Say response has the request's layout), so this counts the client's side of a stub
// call: serializing, the channel, parsing the response.
int StubClientRoundTrips(long n) {
  auto pair = SpinningPair();
  if (!pair.ok()) return 2;
  Link& server = pair->second;
  // No completion thread: Drain() reads the link on this thread, and only this thread runs.
  auto channel = std::make_shared<rpc::LinkChannel>(
      std::move(pair->first), rpc::LinkChannelOptions{.completion_thread = false});
  examples::echo::EchoStub stub(channel);
  examples::echo::EchoRequest request;
  request.set_text(std::string(kPayload, 'x'));
  examples::echo::EchoResponse response;
  int failed = 0;
  for (long i = 0; i < n; ++i) {
    stub.SayAsync(request, &response, nullptr, [&failed](absl::Status s) { failed += !s.ok(); });
    auto call = server.Receive(absl::InfinitePast());
    if (!call.ok() || !server.Reply(call->id, absl::OkStatus(), call->data).ok()) return 4;
    if (channel->Drain(absl::InfiniteFuture()) != 0 || failed > 0) return 5;
  }
  return 0;
}

// Serializes a response where the link's writer would: into a buffer, as into the ring.
class BufferWriter final : public rpc::ResponseWriter {
 public:
  void Write(const google::protobuf::MessageLite& response) override {
    fits_ = response.ByteSizeLong() <= sizeof(buffer_);
    if (fits_) response.SerializeWithCachedSizesToArray(buffer_);
  }
  void WriteSerialized(std::span<const std::byte> response) override {
    fits_ = response.size() <= sizeof(buffer_);
    if (fits_) std::memcpy(buffer_, response.data(), response.size());
  }
  // Whether the last response fitted (and so was written, as the count assumes).
  bool fits() const { return fits_; }

 private:
  uint8_t buffer_[1024];
  bool fits_ = false;
};

// Echo::Dispatch of a Say request with 64 bytes of text, as the server runtime calls it
// for each request it serves on the link's thread: what the generated code and protobuf
// cost on the server's side of a call.
int DispatchCalls(long n) {
  examples::echo::EchoServer service;
  examples::echo::EchoRequest request;
  request.set_text(std::string(kPayload, 'x'));
  const std::string bytes = request.SerializeAsString();
  BufferWriter writer;
  for (long i = 0; i < n; ++i) {
    rpc::ServerContext context;
    rpc::ServerCall call(examples::echo::Echo::kSayMethodId, std::as_bytes(std::span(bytes)),
                         &context, &writer);
    if (!service.Dispatch(call).ok() || !call.has_response() || !writer.fits()) return 2;
  }
  return 0;
}

}  // namespace
}  // namespace syslink

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: instructions_driver <ring|ring-stream|link|stub-client|dispatch> <round "
                 "trips>\n");
    return 1;
  }
  long n = std::atol(argv[2]);
  std::string layer = argv[1];
  int failed_step;
  if (layer == "ring") {
    failed_step = syslink::RingRoundTrips(n);
  } else if (layer == "ring-stream") {
    failed_step = syslink::RingStreamRecords(n);
  } else if (layer == "link") {
    failed_step = syslink::LinkRoundTrips(n);
  } else if (layer == "stub-client") {
    failed_step = syslink::StubClientRoundTrips(n);
  } else if (layer == "dispatch") {
    failed_step = syslink::DispatchCalls(n);
  } else {
    std::fprintf(stderr, "instructions_driver: unknown layer '%s'\n", layer.c_str());
    return 1;
  }
  if (failed_step != 0) {
    std::fprintf(stderr, "instructions_driver: %s failed at step %d\n", layer.c_str(), failed_step);
  }
  return failed_step;
}
