// NodeTable: the node ids a FUSE mount hands the kernel, each standing for one inode of one
// connection to the server.
//
//   NodeTable nodes;
//   uint64_t id = nodes.Add(/*epoch=*/1, entry.ino());      // after a Lookup, for the kernel
//   std::optional<NodeTable::Node> node = nodes.Find(id);   // {ino, epoch} of a request
//   std::optional<NodeTable::Node> gone = nodes.Forget(id, nlookup);
//
// Why not hand the kernel the server's inode numbers: a server that dies and comes back
// (the same name, a new process) numbers its inodes afresh, so an inode number the kernel
// kept from the old server would silently name an unrelated file of the new one. Each
// connection to the server is an epoch (Upstream, upstream.h); a node id stands for
// (server ino, epoch), and a request on a node of an older epoch is answered ESTALE by the
// bridge. Node ids are never reused, so (node id, generation 0) is unique over the mount's
// life as FUSE asks. The root (FUSE_ROOT_ID) is not in the table: it always stands for the
// current connection's root (the bridge maps it).
//
// Lookup counts: every Add is one lookup the kernel holds; Forget takes the kernel's counts
// away and drops the node at zero. The same (epoch, ino) always gets the same node id while
// the kernel holds it, so hard links share a node.
//
// Thread safety: thread-safe (one mutex). Ownership: a value type.

#ifndef SYSLINK_EXAMPLES_FS_FUSE_NODE_TABLE_H_
#define SYSLINK_EXAMPLES_FS_FUSE_NODE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace syslink::examples::fs {

class NodeTable {
 public:
  // FUSE_ROOT_ID: the root, never in the table.
  static constexpr uint64_t kRootNodeId = 1;

  struct Node {
    uint64_t ino = 0;    // the server's inode number
    uint64_t epoch = 0;  // the connection that numbered it
    bool operator==(const Node&) const = default;
  };

  // The node id of `ino` of connection `epoch`, with one more kernel lookup on it: the id
  // it already has, or a new one (never one used before).
  [[nodiscard]] uint64_t Add(uint64_t epoch, uint64_t ino);

  // What `node_id` stands for; nullopt for the root and for ids the table does not hold.
  [[nodiscard]] std::optional<Node> Find(uint64_t node_id) const;

  // Takes `nlookup` kernel lookups off `node_id` (the node goes at zero) and returns what it
  // stood for, so that the caller can hand the lookups on to the server; nullopt for an id
  // the table does not hold. Counts beyond what is held are clamped.
  std::optional<Node> Forget(uint64_t node_id, uint64_t nlookup);

  // Nodes held (not counting the root).
  [[nodiscard]] size_t size() const;
  // The kernel lookups held on `node_id` (0 when not held).
  [[nodiscard]] uint64_t LookupsOf(uint64_t node_id) const;

 private:
  struct Held {
    Node node;
    uint64_t lookups = 0;
  };

  mutable absl::Mutex mutex_;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = kRootNodeId + 1;
  absl::flat_hash_map<uint64_t, Held> by_id_ ABSL_GUARDED_BY(mutex_);
  // (epoch, ino) -> node id
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> by_inode_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FUSE_NODE_TABLE_H_
