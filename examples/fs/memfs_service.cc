#include "examples/fs/memfs_service.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "examples/fs/fs_format.h"
#include "examples/fs/init_answer.h"

namespace syslink::examples::fs {
namespace {

// Sets `response`'s errno; the RPC itself succeeded.
template <typename Response>
absl::Status Answer(Response* response, int error) {
  response->set_error(error);
  return absl::OkStatus();
}

// Answers with an entry, or with only the errno.
absl::Status AnswerEntry(EntryResponse* response, int error) {
  if (error != 0) response->clear_entry();
  return Answer(response, error);
}

// Read-ahead, per link: when a Read continues where the link's last Read of that handle
// ended (or starts a file), MemFs reads the piece that follows into a buffer of the link
// once the reply is on its way. The caller's next Read, if it asks for that piece, is then
// answered with no copy on its path: the copy was made while the caller took the last one.
// The piece stands for the file only while the file's generation is the one it was read
// at, so a Read never sees bytes older than the file's at the time it is answered.
struct ReadAhead : rpc::SessionState {
  bool Continues(const ReadRequest& request) const {
    return request.offset() == 0 ||
           (request.ino() == ino && request.fh() == fh && request.offset() == end);
  }
  // Notes where a Read of `read` bytes ended.
  void Note(const ReadRequest& request, size_t read) {
    ino = request.ino();
    fh = request.fh();
    end = request.offset() + static_cast<int64_t>(read);
  }
  // Forgets the piece, giving its buffer back to the link's arena.
  void Drop() {
    held = false;
    piece = rpc::Attachment();
  }

  uint64_t ino = 0;
  uint64_t fh = 0;
  int64_t end = -1;  // where the last Read of (ino, fh) ended
  // The piece of `size` bytes (fewer at the end of the file) at `end`, when held.
  bool held = false;
  uint32_t size = 0;
  uint64_t generation = 0;
  rpc::Attachment piece;
};

// A response attachment of up to `size` bytes (at most kMaxIoSize), filled by
// `fill(span, &used)`; dropped when `fill` fails or uses none of it.
template <typename Fill>
int AnswerAttachment(rpc::ServerContext& context, uint32_t size, Fill fill) {
  size = std::min(size, kMaxIoSize);
  size_t used = 0;
  if (size == 0) return fill(std::span<std::byte>(), &used);
  absl::StatusOr<rpc::Attachment> out = context.AllocateAttachment(size);
  if (ReadAhead* ahead = context.session_state<ReadAhead>();
      !out.ok() && ahead != nullptr && ahead->held) {
    ahead->Drop();  // the arena may be short by the piece read ahead: give it back, try again
    out = context.AllocateAttachment(size);
  }
  if (!out.ok()) return ENOMEM;  // the DMA arena is full: the caller holds too many buffers
  if (int error = fill(out->data().first(size), &used); error != 0) return error;
  if (used == 0) return 0;
  out->resize(used);
  context.set_response_attachment(*std::move(out));
  return 0;
}

}  // namespace

MemFs::MemFs(const MemTreeOptions& options, std::vector<uid_t> trusted_uids)
    : tree_(options),
      trust_(std::move(trusted_uids), "memfs"),
      clients_([this](ClientProcesses::Holdings left) { GiveBack(std::move(left)); }) {}

int MemFs::KeepLookup(uint64_t client, int error, const Entry& entry) {
  if (error != 0 || clients_.AddLookup(client, entry.ino())) return error;
  tree_.Forget(entry.ino(), 1);
  return ENOTCONN;  // its process has ended meanwhile
}

int MemFs::KeepHandle(uint64_t client, uint64_t ino, uint64_t fh, bool dir) {
  if (clients_.AddHandle(client, fh, ino, dir)) return 0;
  (void)ReleaseHandle(ino, fh, dir);
  return ENOTCONN;  // its process has ended meanwhile
}

int MemFs::ReleaseHandle(uint64_t ino, uint64_t fh, bool dir) {
  uint64_t owner = ClientProcesses::kNotFollowed;
  const int error = dir ? tree_.ReleaseDir(ino, fh, &owner) : tree_.Release(ino, fh, &owner);
  if (error != 0) return error;
  clients_.RemoveHandle(owner, fh);
  if (!dir) locks_.DropHandle({0, ino}, fh);
  return 0;
}

void MemFs::GiveBack(ClientProcesses::Holdings left) {
  for (const ClientProcesses::HeldHandle& held : left.handles) {
    (void)ReleaseHandle(held.ino, held.fh, held.dir);
  }
  for (const auto& [ino, nlookup] : left.lookups) tree_.Forget(ino, nlookup);
}

absl::Status MemFs::Init(Context& context, const InitRequest& request, InitResponse* response) {
  const int error = FillInit(request, response);
  if (error == 0) response->set_acts_for_others(trust_.Trusts(context.peer()));
  return Answer(response, error);
}

absl::Status MemFs::Statfs(Context&, const StatfsRequest&, StatfsResponse* response) {
  tree_.Statfs(response);
  return Answer(response, 0);
}

absl::Status MemFs::Lookup(Context& context, const LookupRequest& request,
                           EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  const int error =
      tree_.Lookup(*caller, request.parent(), request.name(), response->mutable_entry());
  return AnswerEntry(response, KeepLookup(client, error, response->entry()));
}

absl::Status MemFs::Forget(Context& context, const ForgetRequest& request, Result* response) {
  const uint64_t client = clients_.Join(context.peer());
  for (const ForgetRequest::Item& item : request.items()) {
    // Lookup counts are per inode: what the client does not hold is another's.
    const uint64_t held = clients_.Forget(client, item.ino(), item.nlookup());
    if (held > 0) tree_.Forget(item.ino(), held);
  }
  return Answer(response, 0);
}

absl::Status MemFs::GetAttr(Context&, const GetAttrRequest& request, AttrResponse* response) {
  int error = tree_.GetAttr(request.ino(), response->mutable_attr());
  if (error != 0) response->clear_attr();
  return Answer(response, error);
}

absl::Status MemFs::SetAttr(Context& context, const SetAttrRequest& request,
                            AttrResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  int error = tree_.SetAttr(*caller, request, response->mutable_attr());
  if (error != 0) response->clear_attr();
  return Answer(response, error);
}

absl::Status MemFs::Mkdir(Context& context, const MkdirRequest& request, EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  const int error =
      tree_.MakeNode(*caller, request.parent(), request.name(), S_IFDIR | (request.mode() & 07777),
                     0, "", response->mutable_entry());
  return AnswerEntry(response, KeepLookup(client, error, response->entry()));
}

absl::Status MemFs::Mknod(Context& context, const MknodRequest& request, EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint32_t type = request.mode() & S_IFMT;
  if (type == S_IFDIR || type == S_IFLNK) return AnswerEntry(response, EINVAL);
  const uint64_t client = clients_.Join(context.peer());
  const int error = tree_.MakeNode(*caller, request.parent(), request.name(), request.mode(),
                                   request.rdev(), "", response->mutable_entry());
  return AnswerEntry(response, KeepLookup(client, error, response->entry()));
}

absl::Status MemFs::Symlink(Context& context, const SymlinkRequest& request,
                            EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  const int error = tree_.MakeNode(*caller, request.parent(), request.name(), S_IFLNK, 0,
                                   request.target(), response->mutable_entry());
  return AnswerEntry(response, KeepLookup(client, error, response->entry()));
}

absl::Status MemFs::Link(Context& context, const LinkRequest& request, EntryResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  const int error = tree_.Link(*caller, request.ino(), request.new_parent(), request.new_name(),
                               response->mutable_entry());
  return AnswerEntry(response, KeepLookup(client, error, response->entry()));
}

absl::Status MemFs::Unlink(Context& context, const UnlinkRequest& request, Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  return Answer(response, tree_.Unlink(*caller, request.parent(), request.name()));
}

absl::Status MemFs::Rmdir(Context& context, const UnlinkRequest& request, Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  return Answer(response, tree_.Rmdir(*caller, request.parent(), request.name()));
}

absl::Status MemFs::Rename(Context& context, const RenameRequest& request, Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  return Answer(response, tree_.Rename(*caller, request.parent(), request.name(),
                                       request.new_parent(), request.new_name(), request.flags()));
}

absl::Status MemFs::ReadLink(Context&, const ReadLinkRequest& request, ReadLinkResponse* response) {
  return Answer(response, tree_.ReadLink(request.ino(), response->mutable_target()));
}

absl::Status MemFs::Create(Context& context, const CreateRequest& request,
                           CreateResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  uint64_t fh = 0;
  int error = tree_.Create(*caller, request.parent(), request.name(), request.mode(),
                           request.flags(), client, response->mutable_entry(), &fh);
  if (error == 0) {
    const uint64_t ino = response->entry().ino();
    error = KeepLookup(client, error, response->entry());
    if (error != 0) {
      (void)ReleaseHandle(ino, fh, /*dir=*/false);  // not filed under the client yet
    } else {
      // ENOTCONN: the lookup, filed already, is given back with the rest of the record.
      error = KeepHandle(client, ino, fh, /*dir=*/false);
    }
  }
  if (error != 0) {
    response->clear_entry();
  } else {
    response->set_fh(fh);
  }
  return Answer(response, error);
}

absl::Status MemFs::Open(Context& context, const OpenRequest& request, OpenResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  uint64_t fh = 0;
  int error = tree_.Open(*caller, request.ino(), request.flags(), client, &fh);
  if (error == 0) error = KeepHandle(client, request.ino(), fh, /*dir=*/false);
  response->set_fh(error == 0 ? fh : 0);
  return Answer(response, error);
}

namespace {

// Notes where the answered Read ended, and reads the piece from there once the reply to
// it is on its way, unless the Read came short: it met the end of the file.
void ReadAheadOnceAnswered(const MemTree& tree, rpc::ServerContext& context, ReadAhead* ahead,
                           const ReadRequest& request, size_t read) {
  ahead->Note(request, read);
  if (read < std::min(request.size(), kMaxIoSize)) return;
  context.set_after_reply([&tree, &context, ahead, size = request.size()] {
    const uint32_t bytes = std::min(size, kMaxIoSize);
    absl::StatusOr<rpc::Attachment> out = context.AllocateAttachment(bytes);
    if (!out.ok()) return;  // the arena is busy: no read-ahead this time
    size_t used = 0;
    if (tree.Read(ahead->ino, ahead->fh, ahead->end, out->data().first(bytes), &used,
                  &ahead->generation) != 0) {
      return;
    }
    ahead->held = true;
    ahead->size = size;
    if (used > 0) {
      out->resize(used);
      ahead->piece = *std::move(out);
    }
  });
}

}  // namespace

absl::Status MemFs::Read(Context& context, const ReadRequest& request, ReadResponse* response) {
  ReadAhead* ahead = context.session_state<ReadAhead>();  // null but on a link's own thread
  if (ahead != nullptr && ahead->held) {
    uint64_t generation = 0;
    if (request.ino() == ahead->ino && request.fh() == ahead->fh &&
        request.offset() == ahead->end && request.size() == ahead->size &&
        tree_.DataGeneration(request.ino(), request.fh(), &generation) == 0 &&
        generation == ahead->generation) {
      read_ahead_hits_.fetch_add(1, std::memory_order_relaxed);
      const size_t read = ahead->piece.size();
      if (read > 0) context.set_response_attachment(std::move(ahead->piece));
      ahead->Drop();
      if (read > 0) ReadAheadOnceAnswered(tree_, context, ahead, request, read);
      return Answer(response, 0);
    }
    ahead->Drop();  // before this Read takes a buffer of its own
  }
  size_t read = 0;
  int error =
      AnswerAttachment(context, request.size(), [&](std::span<std::byte> out, size_t* used) {
        int error = tree_.Read(request.ino(), request.fh(), request.offset(), out, used);
        read = *used;
        return error;
      });
  if (ahead != nullptr && error == 0 && read > 0) {
    if (ahead->Continues(request)) {
      ReadAheadOnceAnswered(tree_, context, ahead, request, read);
    } else {
      ahead->Note(request, read);  // not sequential: read nothing ahead yet
    }
  }
  return Answer(response, error);
}

absl::Status MemFs::Write(Context& context, const WriteRequest& request, WriteResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  std::span<const std::byte> in = context.request_attachment().data();
  int error = tree_.Write(*caller, request.ino(), request.fh(), request.offset(), in);
  if (error == 0) response->set_size(static_cast<uint32_t>(in.size()));
  return Answer(response, error);
}

absl::Status MemFs::Flush(Context&, const HandleRequest& request, Result* response) {
  return Answer(response, tree_.CheckHandle(request.ino(), request.fh()));
}

absl::Status MemFs::Release(Context& context, const HandleRequest& request, Result* response) {
  ReadAhead* ahead = context.session_state<ReadAhead>();
  if (ahead != nullptr && ahead->ino == request.ino() && ahead->fh == request.fh()) {
    ahead->Drop();
  }
  return Answer(response, ReleaseHandle(request.ino(), request.fh(), /*dir=*/false));
}

absl::Status MemFs::Locks(Context&, LockStream* stream) {
  return ServeLockSession(stream, locks_,
                          [this](uint64_t ino, uint64_t fh, uint32_t* flags, LockFile* file) {
                            *file = {0, ino};  // memfs never reuses an inode's number
                            return tree_.HandleFlags(ino, fh, flags);
                          });
}

absl::Status MemFs::Fsync(Context&, const HandleRequest& request, Result* response) {
  return Answer(response, tree_.CheckHandle(request.ino(), request.fh()));
}

absl::Status MemFs::OpenDir(Context& context, const OpenDirRequest& request,
                            OpenResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  uint64_t fh = 0;
  int error = tree_.OpenDir(*caller, request.ino(), client, &fh);
  if (error == 0) error = KeepHandle(client, request.ino(), fh, /*dir=*/true);
  response->set_fh(error == 0 ? fh : 0);
  return Answer(response, error);
}

absl::Status MemFs::ReadDir(Context& context, const ReadDirRequest& request,
                            ReadDirResponse* response) {
  uint32_t count = 0;
  int error =
      AnswerAttachment(context, request.size(), [&](std::span<std::byte> out, size_t* used) {
        return tree_.ReadDir(request.ino(), request.fh(), request.offset(), out, used, &count);
      });
  if (request.size() == 0 && error == 0) error = EINVAL;  // no room for one entry
  response->set_entries(error == 0 ? count : 0);
  return Answer(response, error);
}

absl::Status MemFs::ReleaseDir(Context&, const HandleRequest& request, Result* response) {
  return Answer(response, ReleaseHandle(request.ino(), request.fh(), /*dir=*/true));
}

absl::Status MemFs::Fallocate(Context& context, const FallocateRequest& request, Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  return Answer(response, tree_.Fallocate(*caller, request));
}

absl::Status MemFs::CopyFileRange(Context& context, const CopyFileRangeRequest& request,
                                  CopyFileRangeResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  uint64_t copied = 0;
  const int error = tree_.CopyFileRange(*caller, request, &copied);
  response->set_size(copied);
  return Answer(response, error);
}

absl::Status MemFs::SetXattr(Context& context, const SetXattrRequest& request, Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  return Answer(response, tree_.SetXattr(*caller, request));
}

absl::Status MemFs::GetXattr(Context& context, const GetXattrRequest& request,
                             GetXattrResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const int error = tree_.GetXattr(*caller, request, response);
  if (error != 0) response->Clear();
  return Answer(response, error);
}

absl::Status MemFs::ListXattr(Context& context, const ListXattrRequest& request,
                              ListXattrResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const int error = tree_.ListXattr(*caller, request, response);
  if (error != 0) response->Clear();
  return Answer(response, error);
}

absl::Status MemFs::RemoveXattr(Context& context, const RemoveXattrRequest& request,
                                Result* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  return Answer(response, tree_.RemoveXattr(*caller, request));
}

absl::Status MemFs::ReadDirPlus(Context& context, const ReadDirPlusRequest& request,
                                ReadDirPlusResponse* response) {
  absl::StatusOr<Caller> caller = trust_.For(context, request);
  if (!caller.ok()) return caller.status();
  const uint64_t client = clients_.Join(context.peer());
  const int error = tree_.ReadDirPlus(*caller, request, response);
  if (error != 0) {
    response->clear_entries();
    return Answer(response, error);
  }
  for (DirEntryPlus& entry : *response->mutable_entries()) {
    if (entry.has_entry() && KeepLookup(client, 0, entry.entry()) != 0) entry.clear_entry();
  }
  return Answer(response, 0);
}

}  // namespace syslink::examples::fs
