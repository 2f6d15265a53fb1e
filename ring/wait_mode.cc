#include "ring/wait_mode.h"

namespace syslink::ring {

absl::string_view WaitModeName(WaitMode mode) {
  switch (mode) {
    case WaitMode::kSpin:
      return "spin";
    case WaitMode::kHybrid:
      return "hybrid";
    case WaitMode::kBlocking:
      return "blocking";
  }
  return "invalid";
}

bool IsValidWaitMode(uint32_t mode) {
  return mode >= static_cast<uint32_t>(WaitMode::kSpin) &&
         mode <= static_cast<uint32_t>(WaitMode::kBlocking);
}

}  // namespace syslink::ring
