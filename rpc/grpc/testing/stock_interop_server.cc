// A gRPC server of testdata/interop.proto written only with grpc_cpp_plugin's code and
// gRPC's own library: the "other side" of rpc/grpc's interop tests, which knows nothing of
// syslink.
//
//   stock_interop_server [--listen=127.0.0.1:0]
//
// Prints "port <n>" once it listens, then serves until stdin closes (its parent, the
// test, holds the other end) or it is killed. Prints "holding" when a Hold call starts, for
// a test to wait on, and "streaming" when an endless Count starts. Reverse echoes the
// text: a stock server knows no attachments. Echo, Fail and Count send each of the caller's
// metadata entries "echo-K: V" back twice: as initial metadata "initial-K: V" and as
// trailing metadata "echo-K: V".

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "rpc/grpc/testdata/interop.grpc.pb.h"

namespace {

using syslink::interop::Interop;
using syslink::interop::Text;

// Sends the caller's "echo-" entries back (the file comment).
void EchoMetadata(grpc::ServerContext* context) {
  for (const auto& [key, value] : context->client_metadata()) {
    const std::string k(key.data(), key.size());
    const std::string v(value.data(), value.size());
    if (k.rfind("echo-", 0) != 0) continue;
    context->AddInitialMetadata("initial-" + k.substr(5), v);
    context->AddTrailingMetadata(k, v);
  }
}

class StockInterop final : public Interop::Service {
  grpc::Status Echo(grpc::ServerContext* context, const Text* request, Text* response) override {
    EchoMetadata(context);
    *response = *request;
    return grpc::Status::OK;
  }
  grpc::Status Fail(grpc::ServerContext* context, const Text* request, Text*) override {
    EchoMetadata(context);
    return grpc::Status(static_cast<grpc::StatusCode>(request->code()), request->text());
  }
  grpc::Status Hold(grpc::ServerContext* context, const Text*, Text*) override {
    std::printf("holding\n");
    std::fflush(stdout);
    for (int i = 0; i < 30000 && !context->IsCancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "stock server: held");
  }
  grpc::Status Reverse(grpc::ServerContext*, const Text* request, Text* response) override {
    response->set_text(request->text());
    return grpc::Status::OK;
  }
  grpc::Status WhoCalls(grpc::ServerContext* context, const Text*, Text* response) override {
    response->set_text(context->peer() + "|");
    return grpc::Status::OK;
  }
  grpc::Status Count(grpc::ServerContext* context, const Text* request,
                     grpc::ServerWriter<Text>* writer) override {
    EchoMetadata(context);
    if (request->code() < 0) {
      std::printf("streaming\n");
      std::fflush(stdout);
    }
    for (int64_t i = 0; request->code() < 0 || i < request->code(); ++i) {
      Text message;
      message.set_text(request->text() + " " + std::to_string(i));
      if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    }
    return grpc::Status::OK;
  }
  grpc::Status Join(grpc::ServerContext*, grpc::ServerReader<Text>* reader,
                    Text* response) override {
    std::string joined;
    Text message;
    for (bool first = true; reader->Read(&message); first = false) {
      if (message.code() != 0) {
        return grpc::Status(static_cast<grpc::StatusCode>(message.code()), message.text());
      }
      joined += (first ? "" : ",") + message.text();
    }
    response->set_text(joined);
    return grpc::Status::OK;
  }
  grpc::Status Chat(grpc::ServerContext*, grpc::ServerReaderWriter<Text, Text>* stream) override {
    Text message;
    while (stream->Read(&message)) {
      if (!stream->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    }
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--listen=", 0) == 0) {
      listen = arg.substr(9);
    } else {
      std::fprintf(stderr, "usage: stock_interop_server [--listen=host:port]\n");
      return 2;
    }
  }
  StockInterop service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "stock_interop_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("port %d\n", port);
  std::fflush(stdout);
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
  server->Shutdown(std::chrono::system_clock::now());
  return 0;
}
