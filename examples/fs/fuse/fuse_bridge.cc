// FuseBridge: the ops table, resolving nodes, replies, and the attribute and lookup
// operations. Names are in fuse_bridge_names.cc, files and directories in fuse_bridge_io.cc.

#include "examples/fs/fuse/fuse_bridge.h"

#include <errno.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <vector>

#include "examples/fs/fs_status.h"

namespace syslink::examples::fs {
namespace {

FuseBridge* Self(fuse_req_t req) { return static_cast<FuseBridge*>(fuse_req_userdata(req)); }

timespec ToTimespec(int64_t ns) {
  timespec t;
  t.tv_sec = ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1000000000;
    t.tv_sec -= 1;
  }
  return t;
}

int64_t ToNanos(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

// The SetAttr fields fs.proto knows; FUSE's others (ctime, kill-suid, ...) are dropped.
constexpr int kServerSetAttrFields =
    FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_SIZE |
    FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW;
static_assert(FUSE_SET_ATTR_MODE == SET_ATTR_MODE && FUSE_SET_ATTR_UID == SET_ATTR_UID &&
                  FUSE_SET_ATTR_GID == SET_ATTR_GID && FUSE_SET_ATTR_SIZE == SET_ATTR_SIZE &&
                  FUSE_SET_ATTR_ATIME == SET_ATTR_ATIME && FUSE_SET_ATTR_MTIME == SET_ATTR_MTIME &&
                  FUSE_SET_ATTR_ATIME_NOW == SET_ATTR_ATIME_NOW &&
                  FUSE_SET_ATTR_MTIME_NOW == SET_ATTR_MTIME_NOW,
              "fs.proto's SetAttrField values are FUSE's");

// The supplementary groups of `req`'s caller, as libfuse reads them from /proc; false when
// it cannot (a pid of another namespace, a process gone).
bool ReadGroups(fuse_req_t req, std::vector<gid_t>* groups) {
  groups->resize(32);
  int count = fuse_req_getgroups(req, static_cast<int>(groups->size()), groups->data());
  if (count > static_cast<int>(groups->size())) {
    groups->resize(count);
    count = fuse_req_getgroups(req, static_cast<int>(groups->size()), groups->data());
  }
  if (count < 0) return false;
  groups->resize(std::min<size_t>(count, groups->size()));
  return true;
}

}  // namespace

OnBehalfOf FuseBridge::RequestCaller(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  OnBehalfOf caller;
  caller.set_uid(ctx->uid);
  caller.set_gid(ctx->gid);
  caller.set_pid(static_cast<uint32_t>(ctx->pid));
  for (gid_t group : caller_groups_.Get(ctx->pid, ctx->uid, ctx->gid,
                                        [req](auto* out) { return ReadGroups(req, out); })) {
    caller.add_groups(group);
  }
  return caller;
}

struct stat ToStat(const Attr& attr) {
  struct stat st {};
  st.st_ino = attr.ino();
  st.st_mode = attr.mode();
  st.st_nlink = attr.nlink();
  st.st_uid = attr.uid();
  st.st_gid = attr.gid();
  st.st_size = static_cast<off_t>(attr.size());
  st.st_blocks = static_cast<blkcnt_t>(attr.blocks());
  st.st_atim = ToTimespec(attr.atime_ns());
  st.st_mtim = ToTimespec(attr.mtime_ns());
  st.st_ctim = ToTimespec(attr.ctime_ns());
  st.st_rdev = attr.rdev();
  st.st_blksize = attr.blksize();
  return st;
}

int KernelErrno(const absl::Status& status) {
  const int error = ErrnoOf(status);
  return error > 0 && error < 512 ? error : EIO;
}

FuseBridge::FuseBridge(Upstream* upstream, BridgeOptions options)
    : upstream_(upstream),
      options_(options),
      caller_groups_(absl::Seconds(std::max(options.attr_timeout_seconds, 0.0))),
      capabilities_(absl::Seconds(std::max(options.attr_timeout_seconds, 0.0))) {}

std::optional<Upstream::Lease> FuseBridge::Begin(fuse_req_t req, fuse_ino_t node, uint64_t* ino) {
  std::optional<NodeTable::Node> held;
  if (node != NodeTable::kRootNodeId) {
    held = nodes_.Find(node);
    // Epochs only grow: a node of an older one can never be served again.
    if (!held.has_value() || held->epoch < upstream_->epoch()) {
      fuse_reply_err(req, ESTALE);
      return std::nullopt;
    }
  }
  absl::StatusOr<Upstream::Lease> lease = upstream_->Acquire();
  if (!lease.ok()) {
    fuse_reply_err(req, KernelErrno(lease.status()));
    return std::nullopt;
  }
  if (held.has_value() && held->epoch != lease->epoch()) {
    fuse_reply_err(req, ESTALE);
    return std::nullopt;
  }
  *ino = held.has_value() ? held->ino : lease->root_ino();
  // The request's caller, for a server that believes this mount (fs.proto's on_behalf_of).
  if (lease->limits().acts_for_others()) lease->client().set_on_behalf_of(RequestCaller(req));
  return *std::move(lease);
}

bool FuseBridge::SameEpoch(fuse_req_t req, const Upstream::Lease& lease, fuse_ino_t node,
                           uint64_t* ino) {
  if (node == NodeTable::kRootNodeId) {
    *ino = lease.root_ino();
    return true;
  }
  std::optional<NodeTable::Node> held = nodes_.Find(node);
  if (!held.has_value() || held->epoch != lease.epoch()) {
    fuse_reply_err(req, ESTALE);
    return false;
  }
  *ino = held->ino;
  return true;
}

void FuseBridge::ReplyError(fuse_req_t req, Upstream::Lease& lease, const absl::Status& status) {
  lease.Note(status);
  fuse_reply_err(req, KernelErrno(status));
}

void FuseBridge::ReplyEntry(fuse_req_t req, Upstream::Lease& lease, const Entry& entry,
                            fuse_file_info* fi) {
  const bool root = entry.ino() == lease.root_ino();
  fuse_entry_param param{};
  param.ino = root ? NodeTable::kRootNodeId : nodes_.Add(lease.epoch(), entry.ino());
  param.generation = 0;  // node ids are never reused
  param.attr = ToStat(entry.attr());
  param.attr_timeout = options_.attr_timeout_seconds;
  param.entry_timeout = options_.entry_timeout_seconds;
  const int sent =
      fi != nullptr ? fuse_reply_create(req, &param, fi) : fuse_reply_entry(req, &param);
  if (sent == 0) return;
  // The kernel did not take the entry (the request was interrupted): give it back.
  if (fi != nullptr) ReleaseHandle(fi->fh, /*directory=*/false, &lease);
  if (root) return;
  (void)nodes_.Forget(param.ino, 1);
  ForgetRequest::Item item;
  item.set_ino(entry.ino());
  item.set_nlookup(1);
  ForgetOnServer(lease, {&item, 1});
}

void FuseBridge::ForgetOnServer(Upstream::Lease& lease,
                                std::span<const ForgetRequest::Item> items) {
  ForgetRequest request;
  for (const ForgetRequest::Item& item : items) *request.add_items() = item;
  Result response;
  lease.Note(lease.client().stub().Forget(request, &response, nullptr));
}

bool FuseBridge::ServerHandle(fuse_req_t req, const Upstream::Lease& lease,
                              const fuse_file_info* fi, uint64_t* fh) {
  std::optional<HandleTable::Handle> handle = handles_.Find(fi->fh);
  if (!handle.has_value() || handle->epoch != lease.epoch()) {
    fuse_reply_err(req, ESTALE);
    return false;
  }
  *fh = handle->fh;
  return true;
}

void FuseBridge::ReleaseHandle(uint64_t id, bool directory, Upstream::Lease* held_lease) {
  std::optional<HandleTable::Handle> handle = handles_.Remove(id);
  if (!handle.has_value() || handle->epoch != upstream_->epoch()) return;  // a former server's
  std::optional<Upstream::Lease> taken;
  Upstream::Lease* lease = held_lease;
  if (lease == nullptr) {
    absl::StatusOr<Upstream::Lease> acquired = upstream_->Acquire();
    if (!acquired.ok()) return;  // the server is gone
    lease = &taken.emplace(*std::move(acquired));
  }
  if (lease->epoch() != handle->epoch) return;
  // The handle names its inode itself: once the kernel has its answer to RELEASE, it may
  // forget the node (an unlinked file's) on another thread before this runs.
  absl::Status s = directory ? lease->client().ReleaseDir(handle->ino, handle->fh)
                             : lease->client().Release(handle->ino, handle->fh);
  lease->Note(s);
}

void FuseBridge::Init(fuse_conn_info* conn) {
  conn->max_write = kMountMaxWrite;
  conn->max_read = kMaxIoSize;
  // The server truncates on Open with O_TRUNC itself (fs.proto).
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  // Cached data is dropped when a refresh finds the server's mtime or size changed.
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  // Write-through unless asked: every write(2) reaches the server before it returns, and
  // so do its errors.
  if (options_.writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  } else {
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  }
  // Locks are the server's (fuse_bridge_locks.cc), so that they hold against its other
  // clients too.
  if (conn->capable & FUSE_CAP_POSIX_LOCKS) conn->want |= FUSE_CAP_POSIX_LOCKS;
  if (conn->capable & FUSE_CAP_FLOCK_LOCKS) conn->want |= FUSE_CAP_FLOCK_LOCKS;
  conn->time_gran = 1;
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer runs a signal's handler only at a call it intercepts, and splice(2) is
  // not one: libfuse waiting for the next request in splice() would leave SIGTERM pending
  // until a request came. Under it, requests are read with read(2), which it intercepts.
  conn->want &= ~FUSE_CAP_SPLICE_READ;
#endif
}

void FuseBridge::SetCaching(fuse_file_info* fi) const {
  fi->keep_cache = options_.cache == DataCache::kKeep;
  fi->direct_io = options_.cache == DataCache::kDirect ||
                  ((fi->flags & O_ACCMODE) == O_WRONLY && !options_.writeback);
}

void FuseBridge::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, parent, &ino);
  if (!lease) return;
  absl::StatusOr<Entry> entry = lease->client().Lookup(ino, name);
  if (!entry.ok()) return ReplyError(req, *lease, entry.status());
  ReplyEntry(req, *lease, *entry);
}

void FuseBridge::Forget(fuse_req_t req, std::span<const fuse_forget_data> forgets) {
  // Take the kernel's lookups off first: the kernel has let go whatever the server says.
  std::vector<std::pair<NodeTable::Node, uint64_t>> held;
  for (const fuse_forget_data& forget : forgets) {
    if (forget.ino == NodeTable::kRootNodeId) continue;
    std::optional<NodeTable::Node> node = nodes_.Forget(forget.ino, forget.nlookup);
    if (node.has_value()) held.emplace_back(*node, forget.nlookup);
    if (!nodes_.Find(forget.ino).has_value()) capabilities_.Drop(forget.ino);
  }
  if (req != nullptr) fuse_reply_none(req);
  if (held.empty()) return;
  absl::StatusOr<Upstream::Lease> lease = upstream_->Acquire();
  if (!lease.ok()) return;  // the server is gone, and its lookups with it
  std::vector<ForgetRequest::Item> items;
  for (const auto& [node, nlookup] : held) {
    if (node.epoch != lease->epoch()) continue;  // a former server's
    ForgetRequest::Item& item = items.emplace_back();
    item.set_ino(node.ino);
    item.set_nlookup(nlookup);
  }
  if (!items.empty()) ForgetOnServer(*lease, items);
}

void FuseBridge::GetAttr(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  absl::StatusOr<Attr> attr = lease->client().GetAttr(ino);
  if (!attr.ok()) return ReplyError(req, *lease, attr.status());
  const struct stat st = ToStat(*attr);
  fuse_reply_attr(req, &st, options_.attr_timeout_seconds);
}

bool FuseBridge::KillsSetIdOnly(fuse_req_t req, Upstream::Lease& lease, uint64_t ino, mode_t mode) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  if (ctx->uid == 0) return false;
  absl::StatusOr<Attr> now = lease.client().GetAttr(ino);
  if (!now.ok() || now->uid() == ctx->uid) return false;
  const uint32_t before = now->mode() & 07777;
  uint32_t killed = before & ~S_ISUID;
  if (before & S_IXGRP) killed &= ~S_ISGID;
  return killed != before && (mode & 07777) == killed;
}

void FuseBridge::SetAttr(fuse_req_t req, fuse_ino_t node, const struct stat* attr, int to_set,
                         fuse_file_info* fi) {
  uint64_t ino;
  std::optional<Upstream::Lease> lease = Begin(req, node, &ino);
  if (!lease) return;
  if ((to_set & FUSE_SET_ATTR_CTIME) && lease->limits().acts_for_others()) {
    // Only the kernel sets a ctime: the times of a file whose writes it caches
    // (--writeback), flushed as the closing process's, which need not own the file. The
    // kernel is the authority on those times: they go as root's.
    OnBehalfOf kernel;
    kernel.set_uid(0);
    kernel.set_gid(0);
    lease->client().set_on_behalf_of(kernel);
  }
  if ((to_set & FUSE_SET_ATTR_MODE) && KillsSetIdOnly(req, *lease, ino, attr->st_mode)) {
    // The server drops the bits itself on the write or truncate that follows, as it does
    // for its direct clients.
    to_set &= ~FUSE_SET_ATTR_MODE;
  }
  SetAttrRequest request;
  request.set_ino(ino);
  request.set_valid(static_cast<uint32_t>(to_set & kServerSetAttrFields));
  request.set_mode(attr->st_mode & 07777);
  request.set_uid(attr->st_uid);
  request.set_gid(attr->st_gid);
  request.set_size(static_cast<uint64_t>(attr->st_size));
  request.set_atime_ns(ToNanos(attr->st_atim));
  request.set_mtime_ns(ToNanos(attr->st_mtim));
  if (fi != nullptr && (to_set & FUSE_SET_ATTR_SIZE)) {
    uint64_t fh;
    if (!ServerHandle(req, *lease, fi, &fh)) return;
    request.set_fh(fh);
  }
  absl::StatusOr<Attr> result =
      request.valid() == 0 ? lease->client().GetAttr(ino) : lease->client().SetAttr(request);
  if (!result.ok()) return ReplyError(req, *lease, result.status());
  const struct stat st = ToStat(*result);
  fuse_reply_attr(req, &st, options_.attr_timeout_seconds);
}

void FuseBridge::Statfs(fuse_req_t req, fuse_ino_t node) {
  absl::StatusOr<Upstream::Lease> lease = upstream_->Acquire();
  if (!lease.ok()) {
    fuse_reply_err(req, KernelErrno(lease.status()));
    return;
  }
  absl::StatusOr<StatfsResponse> fs = lease->client().Statfs();
  if (!fs.ok()) return ReplyError(req, *lease, fs.status());
  struct statvfs out {};
  out.f_bsize = fs->block_size();
  out.f_frsize = fs->block_size();
  out.f_blocks = fs->blocks();
  out.f_bfree = fs->blocks_free();
  out.f_bavail = fs->blocks_available();
  out.f_files = fs->files();
  out.f_ffree = fs->files_free();
  out.f_favail = fs->files_free();
  out.f_namemax = fs->name_max();
  fuse_reply_statfs(req, &out);
}

const fuse_lowlevel_ops& FuseBridge::Ops() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = [](void* self, fuse_conn_info* conn) { static_cast<FuseBridge*>(self)->Init(conn); };
    o.destroy = [](void* self) { static_cast<FuseBridge*>(self)->Destroy(); };
    o.lookup = [](fuse_req_t r, fuse_ino_t p, const char* n) { Self(r)->Lookup(r, p, n); };
    o.forget = [](fuse_req_t r, fuse_ino_t i, uint64_t n) {
      const fuse_forget_data one{i, n};
      Self(r)->Forget(r, {&one, 1});
    };
    o.forget_multi = [](fuse_req_t r, size_t count, fuse_forget_data* forgets) {
      Self(r)->Forget(r, {forgets, count});
    };
    o.getattr = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Self(r)->GetAttr(r, i, fi); };
    o.setattr = [](fuse_req_t r, fuse_ino_t i, struct stat* a, int s, fuse_file_info* fi) {
      Self(r)->SetAttr(r, i, a, s, fi);
    };
    o.statfs = [](fuse_req_t r, fuse_ino_t i) { Self(r)->Statfs(r, i); };
    o.readlink = [](fuse_req_t r, fuse_ino_t i) { Self(r)->ReadLink(r, i); };
    o.mknod = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, dev_t d) {
      Self(r)->Mknod(r, p, n, m, d);
    };
    o.mkdir = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m) {
      Self(r)->Mkdir(r, p, n, m);
    };
    o.symlink = [](fuse_req_t r, const char* t, fuse_ino_t p, const char* n) {
      Self(r)->Symlink(r, t, p, n);
    };
    o.link = [](fuse_req_t r, fuse_ino_t i, fuse_ino_t p, const char* n) {
      Self(r)->Link(r, i, p, n);
    };
    o.unlink = [](fuse_req_t r, fuse_ino_t p, const char* n) { Self(r)->Unlink(r, p, n); };
    o.rmdir = [](fuse_req_t r, fuse_ino_t p, const char* n) { Self(r)->Rmdir(r, p, n); };
    o.rename = [](fuse_req_t r, fuse_ino_t p, const char* n, fuse_ino_t np, const char* nn,
                  unsigned int flags) { Self(r)->Rename(r, p, n, np, nn, flags); };
    o.create = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, fuse_file_info* fi) {
      Self(r)->Create(r, p, n, m, fi);
    };
    o.open = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Self(r)->Open(r, i, fi); };
    o.read = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o, fuse_file_info* fi) {
      Self(r)->Read(r, i, s, o, fi);
    };
    o.write_buf = [](fuse_req_t r, fuse_ino_t i, fuse_bufvec* b, off_t o, fuse_file_info* fi) {
      Self(r)->Write(r, i, b, o, fi);
    };
    o.flush = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Self(r)->Flush(r, i, fi); };
    o.release = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Self(r)->Release(r, i, fi); };
    o.fsync = [](fuse_req_t r, fuse_ino_t i, int d, fuse_file_info* fi) {
      Self(r)->Fsync(r, i, d, fi);
    };
    o.opendir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Self(r)->OpenDir(r, i, fi); };
    o.readdir = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o, fuse_file_info* fi) {
      Self(r)->ReadDir(r, i, s, o, fi);
    };
    o.releasedir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
      Self(r)->ReleaseDir(r, i, fi);
    };
    o.readdirplus = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o, fuse_file_info* fi) {
      Self(r)->ReadDirPlus(r, i, s, o, fi);
    };
    o.fallocate = [](fuse_req_t r, fuse_ino_t i, int mode, off_t offset, off_t length,
                     fuse_file_info* fi) { Self(r)->Fallocate(r, i, mode, offset, length, fi); };
    o.copy_file_range = [](fuse_req_t r, fuse_ino_t in, off_t off_in, fuse_file_info* fi_in,
                           fuse_ino_t out, off_t off_out, fuse_file_info* fi_out, size_t len,
                           int flags) {
      Self(r)->CopyFileRange(r, in, off_in, fi_in, out, off_out, fi_out, len, flags);
    };
    o.setxattr = [](fuse_req_t r, fuse_ino_t i, const char* n, const char* v, size_t s, int flags) {
      Self(r)->SetXattr(r, i, n, v, s, flags);
    };
    o.getxattr = [](fuse_req_t r, fuse_ino_t i, const char* n, size_t s) {
      Self(r)->GetXattr(r, i, n, s);
    };
    o.listxattr = [](fuse_req_t r, fuse_ino_t i, size_t s) { Self(r)->ListXattr(r, i, s); };
    o.removexattr = [](fuse_req_t r, fuse_ino_t i, const char* n) {
      Self(r)->RemoveXattr(r, i, n);
    };
    o.getlk = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi, struct flock* lock) {
      Self(r)->GetLk(r, i, fi, lock);
    };
    o.setlk = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi, struct flock* lock, int sleep) {
      Self(r)->SetLk(r, i, fi, lock, sleep);
    };
    o.flock = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi, int op) {
      Self(r)->Flock(r, i, fi, op);
    };
    return o;
  }();
  return ops;
}

}  // namespace syslink::examples::fs
