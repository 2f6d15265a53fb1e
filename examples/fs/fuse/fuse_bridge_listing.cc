// FuseBridge: readdirplus, directory entries with their attributes in one request.

#include <errno.h>

#include <algorithm>
#include <vector>

#include "examples/fs/fs_format.h"
#include "examples/fs/fuse/fuse_bridge.h"

namespace syslink::examples::fs {
namespace {

// A server of an older fs.proto has no ReadDirPlus: its ReadDir's entries, without Entries.
absl::StatusOr<ReadDirPlusResponse> PlainEntries(FsClient& client, uint64_t ino, uint64_t fh,
                                                 uint64_t offset, uint32_t size) {
  // A plain entry takes less room than a plus one: ask for what the plus ones would fill.
  absl::StatusOr<std::vector<DirEntry>> plain = client.ReadDir(ino, fh, offset, size);
  if (!plain.ok()) return plain.status();
  ReadDirPlusResponse response;
  for (const DirEntry& entry : *plain) {
    DirEntryPlus* plus = response.add_entries();
    plus->set_name(entry.name);
    plus->set_ino(entry.ino);
    plus->set_next(entry.next);
    plus->set_type(entry.type);
  }
  return response;
}

}  // namespace

void FuseBridge::ReadDirPlus(fuse_req_t req, fuse_ino_t node, size_t size, off_t offset,
                             fuse_file_info* fi) {
  uint64_t ino;
  uint64_t fh;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease || !ServerHandle(req, *lease, fi, &fh)) return;
  const uint32_t budget = static_cast<uint32_t>(std::min<size_t>(size, kMaxIoSize));
  absl::StatusOr<ReadDirPlusResponse> listed =
      lease->client().ReadDirPlus(ino, fh, static_cast<uint64_t>(offset), budget);
  if (absl::IsUnimplemented(listed.status())) {
    listed = PlainEntries(lease->client(), ino, fh, static_cast<uint64_t>(offset), budget);
  }
  if (!listed.ok()) return ReplyError(req, *lease, listed.status());
  std::vector<char> buffer(size);
  size_t used = 0;
  std::vector<ForgetRequest::Item> unused;  // lookups the kernel will not get
  std::vector<fuse_ino_t> added;            // node ids counted, in case the reply fails
  bool full = false;  // once one entry does not fit, no later one is sent: the kernel goes
                      // on from the last one's `next`
  for (const DirEntryPlus& entry : listed->entries()) {
    fuse_entry_param param{};
    const bool counted = entry.has_entry();
    const bool root = counted && entry.entry().ino() == lease->root_ino();
    if (counted) {
      param.attr = ToStat(entry.entry().attr());
      param.attr_timeout = options_.attr_timeout_seconds;
      param.entry_timeout = options_.entry_timeout_seconds;
    } else {
      param.attr.st_ino = entry.ino();  // no node: the kernel takes only the name and type
      param.attr.st_mode = entry.type() << 12;
    }
    const size_t need = fuse_add_direntry_plus(req, nullptr, 0, entry.name().c_str(), &param,
                                               static_cast<off_t>(entry.next()));
    full = full || used + need > buffer.size() || entry.name().find('\0') != std::string::npos;
    if (full) {
      if (counted && !root) {
        ForgetRequest::Item& item = unused.emplace_back();
        item.set_ino(entry.entry().ino());
        item.set_nlookup(1);
      }
      continue;
    }
    if (counted) {
      param.ino = root ? NodeTable::kRootNodeId : nodes_.Add(lease->epoch(), entry.entry().ino());
      if (!root) added.push_back(param.ino);
    }
    used += fuse_add_direntry_plus(req, buffer.data() + used, buffer.size() - used,
                                   entry.name().c_str(), &param, static_cast<off_t>(entry.next()));
  }
  if (fuse_reply_buf(req, buffer.data(), used) != 0) {
    // The kernel took none of them (the request was interrupted): give every lookup back.
    for (fuse_ino_t id : added) {
      std::optional<NodeTable::Node> held = nodes_.Forget(id, 1);
      if (!held.has_value()) continue;
      ForgetRequest::Item& item = unused.emplace_back();
      item.set_ino(held->ino);
      item.set_nlookup(1);
    }
  }
  if (!unused.empty()) ForgetOnServer(*lease, unused);
}

}  // namespace syslink::examples::fs
