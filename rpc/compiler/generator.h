// SyslinkGenerator: the code generator of protoc-gen-syslink (main.cc), as a library.
//
//   protoc --plugin=protoc-gen-syslink=PATH --syslink_out=OUT_DIR rpc/kv/kv.proto
//     => OUT_DIR/rpc/kv/kv.syslink.h, OUT_DIR/rpc/kv/kv.syslink.cc
//
// For each service of a .proto the files hold a server base class (derive from it, override
// the rpcs; Dispatch() routes calls by method id) and a client stub (typed calls through a
// rpc::Channel), in the namespace of the proto package. testdata/golden.syslink.h.golden
// shows the result. The build rule is cc_syslink_library (rpc/defs.bzl).
//
// A .proto without services gets both files too, nearly empty, so that a build rule can name
// its outputs without reading the .proto.
//
// Errors (protoc prints them after the file name, and fails): any parameter, as the generator
// takes none; two rpcs of one service whose method ids (rpc/method_id.h) collide; an rpc
// named like a member of the generated classes (Dispatch, service_name, methods,
// kServiceName, channel, channel_, the classes themselves, or the constants k<Rpc>MethodId
// and k<Rpc>Method of another rpc; a bidi rpc named Connect, like the stub's static one) or like a
// local variable of its case in Dispatch() (call, status, and request, response, reader, writer or
// stream by the rpc's kind); a service named like a member of its class (Dispatch, service_name,
// methods, kServiceName, an rpc or its constants); a service or rpc named like a C++ keyword
// (cpp_names.h); a service, or its stub class <service>Stub, named like a C++ name
// protobuf declares in the package's namespace (a message or enum, nested ones flattened:
// Outer_Inner; an enum's helpers and values; an extension) or like another service of the
// package or its stub; a file with services and `option cc_generic_services = true`
// (protoc's .pb.h would declare the service's class too). docs/rpc.md lists the C++ names
// the generator gives.
//
// Thread safety: Generate() keeps no state; calls may run concurrently.

#ifndef SYSLINK_RPC_COMPILER_GENERATOR_H_
#define SYSLINK_RPC_COMPILER_GENERATOR_H_

#include <cstdint>
#include <string>

#include "google/protobuf/compiler/code_generator.h"
#include "google/protobuf/descriptor.h"

namespace syslink::rpc::compiler {

class SyslinkGenerator : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;

  // Fields are none of the generator's business, so proto3 `optional` is fine.
  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

}  // namespace syslink::rpc::compiler

#endif  // SYSLINK_RPC_COMPILER_GENERATOR_H_
