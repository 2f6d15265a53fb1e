// The echo service through generated stubs, beside the raw floors and gRPC, in one run:
//
//   bazel run --config=opt //examples/echo:echo_benchmark
//
//   BM_CacheLineFloor      one shared cache line between two processes (ring/bench)
//   BM_SocketPair64        64 bytes each way over a socketpair, the peer echoes
//   BM_StubSay/<mode>      EchoStub::Say with 64 bytes of text, over a link, spin or hybrid
//   BM_StubVsRing/<mode>   BM_StubSay beside the ring alone (a 64-byte record each way,
//                          ring/bench) in alternating slices of about 2 ms, the idle peer
//                          stopped: the median per-pair ratio (ring/bench/alternating.h)
//   BM_StubInFlight/<n>    n async Say calls kept in flight (hybrid): calls per second
//   BM_StubAttachment128K  Bounce: a 128 KiB attachment there and back (lent zero-copy;
//                          the server copies it into its response attachment)
//   BM_GrpcSay64           gRPC unary Say over a Unix socket, same messages
//   BM_GrpcBlob128K        gRPC Say carrying 128 KiB in the request and the response
//
// Servers run in a forked process on CPU 1, the client on CPU 0. It ends with summary
// lines: medians of 3 runs, as ratios between results of this run.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "examples/echo/echo.syslink.h"
#include "examples/echo/echo_server.h"
#include "examples/echo/grpc/echo.grpc.pb.h"
#include "ring/bench/alternating.h"
#include "ring/bench/peer.h"
#include "ring/bench/ping_pong.h"
#include "rpc/link_channel.h"
#include "rpc/server.h"
#include "tests/support/benchmark_summary.h"
#include "tests/support/child_process.h"
#include "tests/support/forked_server.h"
#include "tests/support/spin_places.h"

extern char** environ;

namespace syslink::examples::echo {
namespace {

using ::syslink::testing::ChildProcess;
using ::syslink::testing::ForkedServer;
using ::syslink::testing::PinToCpu;

constexpr size_t kBulk = 128 * 1024;

// A syslink echo server in a forked process, and a stub to it.
struct SyslinkEcho {
  explicit SyslinkEcho(ring::WaitMode mode)
      : server([] { return std::make_unique<EchoServer>(); },
               {.cpu = ring::bench::kPeerCpu, .link = {.wait = {.mode = mode}}}),
        channel(server.channel()),
        stub(std::make_unique<EchoStub>(channel)) {}
  ~SyslinkEcho() {
    stub.reset();
    channel.reset();
  }
  ForkedServer server;
  std::shared_ptr<rpc::LinkChannel> channel;
  std::unique_ptr<EchoStub> stub;
};

void BM_StubSay(benchmark::State& state, ring::WaitMode mode) {
  SyslinkEcho echo(mode);
  EchoRequest request;
  request.set_text(std::string(64, 'x'));
  EchoResponse response;
  for (auto _ : state) {
    if (!echo.stub->Say(request, &response, nullptr).ok()) {
      state.SkipWithError("call failed");
      break;
    }
  }
}
BENCHMARK_CAPTURE(BM_StubSay, spin, ring::WaitMode::kSpin)->UseRealTime();
BENCHMARK_CAPTURE(BM_StubSay, hybrid, ring::WaitMode::kHybrid)->UseRealTime();

// One iteration is a slice of ring round trips and then a slice of stub calls: read the
// counters, not the time (a whole pair, about 4 ms).
void BM_StubVsRing(benchmark::State& state, ring::WaitMode mode) {
  std::unique_ptr<ring::bench::RoundTripper> ring = ring::bench::StartRingEcho(mode, 64);
  SyslinkEcho echo(mode);
  EchoRequest request;
  request.set_text(std::string(64, 'x'));
  EchoResponse response;
  auto call = [&] { return echo.stub->Say(request, &response, nullptr).ok(); };
  ring::bench::AlternatingSlices slices(ring->peer_pid(), echo.server.process().pid());
  for (auto _ : state) {
    if (!slices.RunPair([&] { return ring->RoundTrip(); }, call)) {
      state.SkipWithError("a round trip failed");
      break;
    }
  }
  state.counters["stub_vs_ring"] = slices.MedianRatio();
  state.counters["ring_ns"] = slices.MedianFloorNanos();
  state.counters["stub_ns"] = slices.MedianSubjectNanos();
}
BENCHMARK_CAPTURE(BM_StubVsRing, spin, ring::WaitMode::kSpin)->UseRealTime();
BENCHMARK_CAPTURE(BM_StubVsRing, hybrid, ring::WaitMode::kHybrid)->UseRealTime();

void BM_StubInFlight(benchmark::State& state) {
  SyslinkEcho echo(ring::WaitMode::kHybrid);
  const int in_flight = static_cast<int>(state.range(0));
  std::vector<EchoRequest> requests(in_flight);
  std::vector<EchoResponse> responses(in_flight);
  for (EchoRequest& r : requests) r.set_text(std::string(64, 'x'));
  int failed = 0;
  for (auto _ : state) {
    for (int i = 0; i < in_flight; ++i) {
      echo.stub->SayAsync(requests[i], &responses[i], nullptr,
                          [&failed](absl::Status s) { failed += !s.ok(); });
    }
    echo.channel->Drain(absl::InfiniteFuture());
  }
  if (failed > 0) state.SkipWithError("calls failed");
  state.SetItemsProcessed(state.iterations() * in_flight);
}
BENCHMARK(BM_StubInFlight)->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

void BM_StubAttachment128K(benchmark::State& state) {
  SyslinkEcho echo(ring::WaitMode::kHybrid);
  absl::StatusOr<rpc::Attachment> bulk = echo.channel->AllocateAttachment(kBulk);
  if (!bulk.ok()) {
    state.SkipWithError("no attachment");
    return;
  }
  rpc::Attachment lent = *std::move(bulk);
  EchoRequest request;
  EchoResponse response;
  for (auto _ : state) {
    rpc::ClientContext context;
    context.set_request_attachment(std::move(lent));
    if (!echo.stub->Bounce(request, &response, &context).ok() ||
        context.response_attachment().size() != kBulk) {
      state.SkipWithError("call failed");
      break;
    }
    lent = std::move(context.request_attachment());  // ours again, for the next call
  }
  state.SetBytesProcessed(state.iterations() * kBulk);
}
BENCHMARK(BM_StubAttachment128K)->UseRealTime();

void BM_CacheLineFloor(benchmark::State& state) {
  std::unique_ptr<ring::bench::RoundTripper> peer = ring::bench::StartCacheLineEcho();
  for (auto _ : state) peer->RoundTrip();
}
BENCHMARK(BM_CacheLineFloor)->UseRealTime();

void BM_SocketPair64(benchmark::State& state) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return;
  ChildProcess peer = ChildProcess::Fork([&] {
    ring::bench::BecomePeer();
    close(fds[0]);
    char buffer[64];
    while (read(fds[1], buffer, 64) == 64 && write(fds[1], buffer, 64) == 64) {
    }
    return 0;
  });
  close(fds[1]);
  char buffer[64] = {};
  for (auto _ : state) {
    if (write(fds[0], buffer, 64) != 64 || read(fds[0], buffer, 64) != 64) {
      state.SkipWithError("socketpair failed");
      break;
    }
  }
  close(fds[0]);
}
BENCHMARK(BM_SocketPair64)->UseRealTime();

// A gRPC echo server on a Unix socket in a forked process, and a stub to it.
class GrpcEchoServer final : public grpc::Echo::Service {
  ::grpc::Status Say(::grpc::ServerContext*, const grpc::EchoRequest* request,
                     grpc::EchoResponse* response) override {
    response->set_text(request->text());
    response->set_blob(request->blob());
    return ::grpc::Status::OK;
  }
};

// Serves gRPC echo on `address` until killed: this binary started with
// --grpc-echo-server=ADDRESS. gRPC does not survive fork(), so its server is a program image
// of its own (posix_spawn), never a forked copy of a process that may use gRPC.
int ServeGrpc(const std::string& address) {
  ring::bench::BecomePeer();
  GrpcEchoServer service;
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(address, ::grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<::grpc::Server> grpc_server = builder.BuildAndStart();
  if (!grpc_server) return 1;
  grpc_server->Wait();
  return 0;
}

struct GrpcEcho {
  GrpcEcho() : address(absl::StrCat("unix:/tmp/sl-grpc-bench-", getpid(), ".sock")) {
    std::string flag = "--grpc-echo-server=" + address;
    char* argv[] = {const_cast<char*>("echo_benchmark"), flag.data(), nullptr};
    if (posix_spawn(&server, "/proc/self/exe", nullptr, nullptr, argv, environ) != 0) {
      std::abort();
    }
    std::shared_ptr<::grpc::Channel> channel =
        ::grpc::CreateChannel(address, ::grpc::InsecureChannelCredentials());
    channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
    stub = grpc::Echo::NewStub(channel);
  }
  ~GrpcEcho() {
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
    unlink(address.substr(5).c_str());
  }
  std::string address;
  pid_t server = 0;
  std::unique_ptr<grpc::Echo::Stub> stub;
};

void RunGrpc(benchmark::State& state, size_t blob) {
  GrpcEcho echo;
  grpc::EchoRequest request;
  request.set_text(std::string(64, 'x'));
  request.set_blob(std::string(blob, 'b'));
  grpc::EchoResponse response;
  for (auto _ : state) {
    ::grpc::ClientContext context;
    if (!echo.stub->Say(&context, request, &response).ok()) {
      state.SkipWithError("gRPC call failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * blob);
}

void BM_GrpcSay64(benchmark::State& state) { RunGrpc(state, 0); }
BENCHMARK(BM_GrpcSay64)->UseRealTime();

void BM_GrpcBlob128K(benchmark::State& state) { RunGrpc(state, kBulk); }
BENCHMARK(BM_GrpcBlob128K)->UseRealTime();

void PrintSummary(const testing::BenchmarkMedians& m) {
  double floor = m.NanosPerIteration("BM_CacheLineFloor/real_time");
  double socketpair = m.NanosPerIteration("BM_SocketPair64/real_time");
  double grpc = m.NanosPerIteration("BM_GrpcSay64/real_time");
  std::printf("\nfloors: cache line %.0f ns, socketpair %.0f ns, gRPC unary %.1f us\n", floor,
              socketpair, grpc / 1000);
  for (const char* mode : {"spin", "hybrid"}) {
    double rtt = m.NanosPerIteration(absl::StrCat("BM_StubSay/", mode, "/real_time"));
    if (rtt <= 0 || floor <= 0) continue;
    std::printf("stub rtt %s: %.0f ns = %.2fx floor, %.2fx socketpair, %.0fx faster than gRPC\n",
                mode, rtt, rtt / floor, socketpair > 0 ? rtt / socketpair : 0,
                grpc > 0 ? grpc / rtt : 0);
  }
  for (const char* mode : {"spin", "hybrid"}) {
    std::map<std::string, double> paired =
        m.Get(absl::StrCat("BM_StubVsRing/", mode, "/real_time")).counters;
    if (paired["stub_vs_ring"] > 0) {
      std::printf("stub rtt %s: %.2fx ring (%.0f ns vs %.0f ns, in alternating slices)\n", mode,
                  paired["stub_vs_ring"], paired["stub_ns"], paired["ring_ns"]);
    }
  }
  for (int n : {1, 8, 64}) {
    double rate = m.Get(absl::StrCat("BM_StubInFlight/", n, "/real_time")).items_per_second;
    if (rate > 0) std::printf("stub throughput, %d in flight: %.0f calls/s\n", n, rate);
  }
  double attach = m.Get("BM_StubAttachment128K/real_time").bytes_per_second;
  double grpc_blob = m.Get("BM_GrpcBlob128K/real_time").bytes_per_second;
  if (attach > 0 && grpc_blob > 0) {
    std::printf("128KiB echo: %.2f GB/s = %.1fx gRPC (%.2f GB/s)\n", attach / 1e9,
                attach / grpc_blob, grpc_blob / 1e9);
  }
}

}  // namespace
}  // namespace syslink::examples::echo

int main(int argc, char** argv) {
  constexpr absl::string_view kServerFlag = "--grpc-echo-server=";
  if (argc == 2 && absl::StartsWith(argv[1], kServerFlag)) {
    return syslink::examples::echo::ServeGrpc(std::string(argv[1] + kServerFlag.size()));
  }
  const std::string places = syslink::testing::SpinPlacesLine();  // before any server
  syslink::testing::PinToCpu(0);
  syslink::testing::BenchmarkMedians medians =
      syslink::testing::RunBenchmarksForMedians(argc, argv);
  syslink::examples::echo::PrintSummary(medians);
  printf("%s\n", places.c_str());
  return 0;
}
