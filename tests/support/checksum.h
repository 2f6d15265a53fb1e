// Checksum(): reads every byte of a buffer, for a benchmark's peer that must touch what it
// was sent (what "the peer reads the buffer" means in syslink's benchmarks).
//
// A sum of 64-bit words, which the compiler vectorizes; bytes past the last whole word are
// not read. Thread safety: a pure function of its argument.

#ifndef SYSLINK_TESTS_SUPPORT_CHECKSUM_H_
#define SYSLINK_TESTS_SUPPORT_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace syslink::testing {

inline uint64_t Checksum(std::span<const std::byte> bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    sum += word;
  }
  return sum;
}

}  // namespace syslink::testing

#endif  // SYSLINK_TESTS_SUPPORT_CHECKSUM_H_
