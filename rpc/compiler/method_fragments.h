// The code one rpc contributes to the generated files, as separate fragments that the
// generator stitches into the service's classes (the scheme of Cap'n Proto's generator).
//
//   MethodFragments echo = BuildMethodFragments(*service->method(0));
//   header += echo.server_declaration;   // inside `class EchoService`
//
// Every fragment is complete lines, indented for the place it goes. Declarations end with a
// blank line; definitions start with one. The code uses the names of rpc/service.h,
// rpc/context.h and rpc/channel.h.
//
// Thread safety: pure functions.

#ifndef SYSLINK_RPC_COMPILER_METHOD_FRAGMENTS_H_
#define SYSLINK_RPC_COMPILER_METHOD_FRAGMENTS_H_

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace syslink::rpc::compiler {

struct MethodFragments {
  // Header, service class: `static constexpr uint32_t kEchoMethodId = ...;`.
  std::string id_constant;
  // Header, service class: `static constexpr ::syslink::rpc::Method kEchoMethod = {...};`,
  // the rpc's id, path and kind (rpc/method.h).
  std::string method_constant;
  // Source, in the array methods() returns: `kEchoMethod`.
  std::string method_entry;
  // Header, service class: the rpc's comments and its virtual method.
  std::string server_declaration;
  // Header, stub class: the rpc's comments and its call forms (a unary rpc's three: returning
  // the response, filling one, asynchronous; a streaming rpc's one, opening the stream).
  std::string stub_declaration;
  // Source: static_asserts that the id is rpc/method_id.h's MethodId() of the full name and
  // rpc/method.h's MethodIdOfPath() of the path.
  std::string id_check;
  // Source: the virtual method's default body, which answers UNIMPLEMENTED.
  std::string server_definition;
  // Source, inside Dispatch()'s switch: the case that parses, calls and keeps the response.
  std::string dispatch_case;
  // Source: the stub's call forms, forwarding to the channel.
  std::string stub_definition;
};

// The fragments of an rpc of any kind: unary, or streaming (rpc/stream.h).
MethodFragments BuildMethodFragments(const google::protobuf::MethodDescriptor& method);

// The fragment `part` of every method, in order, concatenated.
std::string JoinFragments(const std::vector<MethodFragments>& methods,
                          std::string MethodFragments::*part);

}  // namespace syslink::rpc::compiler

#endif  // SYSLINK_RPC_COMPILER_METHOD_FRAGMENTS_H_
