// StreamIds: the ids a channel gives its streams, and which of them are open.
//
//   StreamIds ids;
//   uint32_t id = ids.Take();   // 1, 2, 3, ...
//   ids.Give(id);               // the stream is done
//
// An id is 32 bits: after 2^32 streams the ids wrap, and Take() then skips 0 (never a
// stream's) and every id still open, so that a long-lived stream and a new one never share
// one (the server would refuse the new one: "stream N is open already").
//
// Thread safety: none; the channel's mutex guards it.

#ifndef SYSLINK_RPC_INTERNAL_STREAM_IDS_H_
#define SYSLINK_RPC_INTERNAL_STREAM_IDS_H_

#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_set.h"

namespace syslink::rpc::internal {

class StreamIds {
 public:
  // The next id to give, and an id no open stream has.
  uint32_t Take() {
    while (next_ == 0 || open_.contains(next_)) ++next_;
    open_.insert(next_);
    return next_++;
  }
  void Give(uint32_t id) { open_.erase(id); }
  size_t open() const { return open_.size(); }

  // Where the search for the next id starts (for tests: reaching the wrap takes 2^32 opens).
  void set_next(uint32_t next) { next_ = next; }

 private:
  uint32_t next_ = 1;
  absl::flat_hash_set<uint32_t> open_;
};

}  // namespace syslink::rpc::internal

#endif  // SYSLINK_RPC_INTERNAL_STREAM_IDS_H_
