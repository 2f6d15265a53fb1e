// CallPayload: a call's inline payload as a hand-written peer sends it over a raw Link,
// for tests that play a client (or a server) without rpc's channels.

#ifndef SYSLINK_RPC_TESTDATA_CALL_PAYLOAD_H_
#define SYSLINK_RPC_TESTDATA_CALL_PAYLOAD_H_

#include <cstdint>
#include <string>

#include "rpc/internal/call_format.h"

namespace syslink::rpc::test {

// A call header with `flags`, then `message` (whose size the header states, unless
// `stated_size` says otherwise).
inline std::string CallPayload(uint16_t flags, const std::string& message,
                               uint32_t stated_size = UINT32_MAX) {
  internal::CallHeader header{
      internal::kCallMagic,
      internal::kCallVersion,
      flags,
      stated_size == UINT32_MAX ? static_cast<uint32_t>(message.size()) : stated_size,
      0,
      0,
      0};
  return std::string(reinterpret_cast<const char*>(&header), sizeof(header)) + message;
}

}  // namespace syslink::rpc::test

#endif  // SYSLINK_RPC_TESTDATA_CALL_PAYLOAD_H_
