// MethodId(): the stable number that names an RPC method on the wire.
//
//   constexpr uint32_t kGet = syslink::rpc::MethodId("kv.Store.Get");
//
// A 31-bit FNV-1a hash of the method's full name ("package.Service.Method"), never 0. It
// depends only on the method's own name, so adding, removing or reordering other rpcs never
// changes it. The code generator computes it for each method and refuses a service in
// which two methods collide.
//
// Thread safety: a pure constexpr function.

#ifndef SYSLINK_RPC_METHOD_ID_H_
#define SYSLINK_RPC_METHOD_ID_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace syslink::rpc {

namespace method_id_internal {

inline constexpr uint32_t kFnvOffsetBasis = 2166136261u;

// FNV-1a: `hash` continued over the bytes of `text`.
constexpr uint32_t FnvAppend(uint32_t hash, absl::string_view text) {
  for (char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 16777619u;
  }
  return hash;
}

// The id of a name whose FNV-1a hash is `hash`: 31 bits, never 0.
constexpr uint32_t Finish(uint32_t hash) {
  hash &= 0x7fffffffu;
  return hash == 0 ? 1 : hash;
}

}  // namespace method_id_internal

constexpr uint32_t MethodId(absl::string_view full_method_name) {
  return method_id_internal::Finish(
      method_id_internal::FnvAppend(method_id_internal::kFnvOffsetBasis, full_method_name));
}

}  // namespace syslink::rpc

#endif  // SYSLINK_RPC_METHOD_ID_H_
