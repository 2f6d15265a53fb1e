// Method: what a channel and a server need to know of an rpc, one constant per rpc.
//
//   // generated, in class kv::Store:
//   static constexpr ::syslink::rpc::Method kGetMethod{kGetMethodId, "/kv.Store/Get",
//                                                      ::syslink::rpc::MethodKind::kUnary};
//   channel->Call(kv::Store::kGetMethod, request, &response, context);
//
// A link addresses a call by the method id alone (method_id.h); gRPC by the method's path,
// "/package.Service/Method"; a transport that streams needs the method's kind. The
// generator emits one constant Method per rpc and the stubs pass it by reference, so a
// channel reads only what it uses: the link channel the id, the gRPC channel the path.
//
// A path maps to its method id with no table (MethodIdOfPath): the id is the hash of the
// full name, which is the path with its leading '/' dropped and its last '/' read as '.'.
//
// Thread safety: constant data and pure constexpr functions.

#ifndef SYSLINK_RPC_METHOD_H_
#define SYSLINK_RPC_METHOD_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "rpc/method_id.h"

namespace syslink::rpc {

// How many messages each side of an rpc sends: generated code makes each kind, as its rpc
// in the .proto declares (rpc/stream.h for the streaming ones).
enum class MethodKind : uint8_t {
  kUnary,            // one request, one response
  kClientStreaming,  // many requests, one response
  kServerStreaming,  // one request, many responses
  kBidiStreaming,    // many each way
};

struct Method {
  uint32_t id;             // MethodId() of the full name: what a link carries
  absl::string_view path;  // "/package.Service/Method": what gRPC carries
  MethodKind kind;
};

// The two halves of a method path: "/kv.Store/Get" -> {"kv.Store", "Get"}.
struct MethodPath {
  absl::string_view service;
  absl::string_view method;
};

// Splits `path`; nullopt unless it is "/<service>/<method>" with both parts non-empty and
// no other '/'.
constexpr std::optional<MethodPath> ParseMethodPath(absl::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  size_t slash = 0;  // of the second '/' (absl::string_view::find is not constexpr)
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    if (slash != 0) return std::nullopt;
    slash = i;
  }
  if (slash <= 1 || slash + 1 == path.size()) return std::nullopt;
  return MethodPath{path.substr(1, slash - 1), path.substr(slash + 1)};
}

// The method id of the method at `path` (see the file comment); 0, which no method has,
// for a path ParseMethodPath() refuses.
constexpr uint32_t MethodIdOfPath(absl::string_view path) {
  const std::optional<MethodPath> parts = ParseMethodPath(path);
  if (!parts) return 0;
  // MethodId() of "<service>.<method>", without building the string.
  namespace fnv = method_id_internal;
  return fnv::Finish(fnv::FnvAppend(
      fnv::FnvAppend(fnv::FnvAppend(fnv::kFnvOffsetBasis, parts->service), "."), parts->method));
}

static_assert(MethodIdOfPath("/kv.Store/Get") == MethodId("kv.Store.Get"));
static_assert(MethodIdOfPath("/Store/Get") == MethodId("Store.Get"));
static_assert(MethodIdOfPath("kv.Store/Get") == 0 && MethodIdOfPath("/kv.Store/") == 0);

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_METHOD_H_
