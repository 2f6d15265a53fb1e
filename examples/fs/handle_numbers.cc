#include "examples/fs/handle_numbers.h"

#include <errno.h>
#include <sys/random.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace syslink::examples::fs {

uint64_t HandleNumbers::Next() {
  for (;;) {
    if (left_ == 0) Refill();
    const uint64_t number = pool_[--left_];
    if (number != 0) return number;
  }
}

void HandleNumbers::Refill() {
  auto* bytes = reinterpret_cast<char*>(pool_.data());
  size_t filled = 0;
  while (filled < sizeof(pool_)) {
    const ssize_t n = getrandom(bytes + filled, sizeof(pool_) - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "file server: getrandom: %s: cannot number handles\n",
                   std::strerror(errno));
      std::abort();
    }
    filled += static_cast<size_t>(n);
  }
  left_ = pool_.size();
}

}  // namespace syslink::examples::fs
