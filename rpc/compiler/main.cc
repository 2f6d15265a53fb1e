// protoc-gen-syslink: the protoc plugin that generates syslink service classes and stubs.
//
//   protoc --plugin=protoc-gen-syslink=PATH --syslink_out=OUT_DIR foo.proto
//
// Everything but the plugin protocol is in the generator library (generator.h); Bazel users
// call it through cc_syslink_library (rpc/defs.bzl).

#include "google/protobuf/compiler/plugin.h"
#include "rpc/compiler/generator.h"

int main(int argc, char* argv[]) {
  syslink::rpc::compiler::SyslinkGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
