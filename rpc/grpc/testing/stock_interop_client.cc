// A gRPC client of testdata/interop.proto written only with grpc_cpp_plugin's code and
// gRPC's own library: the "other side" of rpc/grpc's interop tests.
//
//   stock_interop_client --target=127.0.0.1:5000 --method=Echo [--text=hi] [--code=N]
//       [--timeout_ms=N] [--cancel_on_input=1] [--service=pkg.Service]
//       [--ca=ca.pem [--cert=client.pem --key=client.key]]
//       [--metadata=key=value,key=value] [--show_metadata=1]
//
// Makes one call and prints "code=<grpc status code> text=<response text>
// message=<status message>" on one line; exits 0 when the call was made (whatever its
// status), 2 on bad arguments. --service calls the method under another service name
// (a generic call to /<service>/<method>, as a caller that names a service the server does
// not have). --cancel_on_input=1 cancels the call (TryCancel, from another thread) when a
// byte or end-of-file arrives on stdin. --metadata sends the comma-separated entries as
// the call's metadata, as they are; --show_metadata=1 prints a second line,
// "initial=<entries> trailing=<entries>": the server's metadata as gRPC gives it, each
// entry "key=value", joined with ";", bytes outside 0x21-0x7e and '\' as \xNN.
//
// The streaming methods: Count reads every message and prints their texts joined with "|";
// Join sends the comma-separated parts of --text as messages (the last with --code);
// Chat sends them the same way, reading the answers, and prints them joined with "|".

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "rpc/grpc/testdata/interop.grpc.pb.h"

namespace {

using syslink::interop::Interop;
using syslink::interop::Text;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The messages --text names: its comma-separated parts, the last with the request's code.
std::vector<Text> Parts(const Text& request) {
  std::vector<Text> parts;
  std::stringstream in(request.text());
  std::string part;
  while (std::getline(in, part, ',')) {
    parts.emplace_back();
    parts.back().set_text(part);
  }
  if (!parts.empty()) parts.back().set_code(request.code());
  return parts;
}

grpc::Status CallStub(Interop::Stub& stub, const std::string& method, grpc::ClientContext* context,
                      const Text& request, Text* response) {
  if (method == "Echo") return stub.Echo(context, request, response);
  if (method == "Fail") return stub.Fail(context, request, response);
  if (method == "Hold") return stub.Hold(context, request, response);
  if (method == "Reverse") return stub.Reverse(context, request, response);
  if (method == "WhoCalls") return stub.WhoCalls(context, request, response);
  if (method == "Count") {
    std::unique_ptr<grpc::ClientReader<Text>> reader = stub.Count(context, request);
    Text message;
    std::string texts;
    for (bool first = true; reader->Read(&message); first = false) {
      texts += (first ? "" : "|") + message.text();
    }
    response->set_text(texts);
    return reader->Finish();
  }
  if (method == "Join") {
    std::unique_ptr<grpc::ClientWriter<Text>> writer = stub.Join(context, response);
    for (const Text& part : Parts(request)) {
      if (!writer->Write(part)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }
  if (method == "Chat") {
    std::unique_ptr<grpc::ClientReaderWriter<Text, Text>> stream = stub.Chat(context);
    std::string texts;
    for (const Text& part : Parts(request)) {
      Text answer;
      if (!stream->Write(part) || !stream->Read(&answer)) break;
      texts += (texts.empty() ? "" : "|") + answer.text();
    }
    stream->WritesDone();
    response->set_text(texts);
    return stream->Finish();
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unknown method " + method);
}

// A call to /<service>/<method> through gRPC's generic stub.
grpc::Status CallGeneric(std::shared_ptr<grpc::Channel> channel, const std::string& path,
                         grpc::ClientContext* context, const Text& request, Text* response) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1), out;
  auto call = stub.PrepareUnaryCall(context, path, in, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&out, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  if (status.ok()) {
    std::vector<grpc::Slice> slices;
    (void)out.Dump(&slices);
    std::string reply;
    for (const grpc::Slice& s : slices)
      reply.append(reinterpret_cast<const char*>(s.begin()), s.size());
    response->ParseFromString(reply);
  }
  return status;
}

// The entries of `metadata` as --show_metadata prints them.
std::string Show(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  std::string shown;
  for (const auto& [key, value] : metadata) {
    if (!shown.empty()) shown += ";";
    shown.append(key.data(), key.size());
    shown += "=";
    for (char c : std::string(value.data(), value.size())) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte > 0x20 && byte < 0x7f && c != '\\') {
        shown += c;
      } else {
        char escaped[5];
        std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
        shown += escaped;
      }
    }
  }
  return shown;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"text", ""}, {"code", "0"}, {"timeout_ms", "0"}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "stock_interop_client: bad argument %s\n", arg.c_str());
      return 2;
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  if (flags["target"].empty() || flags["method"].empty()) {
    std::fprintf(stderr, "usage: stock_interop_client --target=T --method=M [...]\n");
    return 2;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!flags["ca"].empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(flags["ca"]);
    if (!flags["cert"].empty()) {
      tls.pem_cert_chain = ReadFile(flags["cert"]);
      tls.pem_private_key = ReadFile(flags["key"]);
    }
    credentials = grpc::SslCredentials(tls);
  }
  grpc::ChannelArguments args;
  if (!flags["authority"].empty()) args.SetSslTargetNameOverride(flags["authority"]);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(flags["target"], credentials, args);
  grpc::ClientContext context;
  const int timeout_ms = std::stoi(flags["timeout_ms"]);
  if (timeout_ms > 0) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }
  std::stringstream entries(flags["metadata"]);
  for (std::string entry; std::getline(entries, entry, ',');) {
    const size_t eq = entry.find('=');
    context.AddMetadata(entry.substr(0, eq), eq == std::string::npos ? "" : entry.substr(eq + 1));
  }
  Text request, response;
  request.set_text(flags["text"]);
  request.set_code(std::stoi(flags["code"]));
  std::thread canceller;
  if (flags["cancel_on_input"] == "1") {
    canceller = std::thread([&] {
      char byte;
      (void)read(0, &byte, 1);
      context.TryCancel();
    });
  }
  grpc::Status status;
  if (!flags["service"].empty()) {
    status = CallGeneric(channel, "/" + flags["service"] + "/" + flags["method"], &context, request,
                         &response);
  } else {
    Interop::Stub stub(channel);
    status = CallStub(stub, flags["method"], &context, request, &response);
  }
  std::printf("code=%d text=%s message=%s\n", static_cast<int>(status.error_code()),
              response.text().c_str(), status.error_message().c_str());
  if (flags["show_metadata"] == "1") {
    std::printf("initial=%s trailing=%s\n", Show(context.GetServerInitialMetadata()).c_str(),
                Show(context.GetServerTrailingMetadata()).c_str());
  }
  std::fflush(stdout);
  // Without destructors: a canceller thread may still be using the context.
  _exit(0);
}
