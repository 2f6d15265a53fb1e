// FsClient's inode layer: one rpc each. The path layer is in fs_client_paths.cc.

#include "examples/fs/fs_client.h"

#include <errno.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace syslink::examples::fs {
namespace {

using ::syslink::rpc::ClientContext;

// The outcome of a call: the RPC's failure as it is, else the server's errno, described
// by `what` (built only on failure).
template <typename Response, typename What>
absl::Status Outcome(const absl::Status& rpc, const Response& response, What what) {
  if (!rpc.ok()) return rpc;
  if (response.error() != 0) return ErrnoError(response.error(), what());
  return absl::OkStatus();
}

}  // namespace

LookupRef::LookupRef(LookupRef&& other) noexcept
    : client_(std::exchange(other.client_, nullptr)), entry_(std::move(other.entry_)) {}

LookupRef& LookupRef::operator=(LookupRef&& other) noexcept {
  if (this != &other) {
    Release();
    client_ = std::exchange(other.client_, nullptr);
    entry_ = std::move(other.entry_);
  }
  return *this;
}

void LookupRef::Release() {
  if (client_ != nullptr && entry_.ino() != kRootIno) (void)client_->Forget(entry_.ino(), 1);
  client_ = nullptr;
}

FsClient::FsClient(std::shared_ptr<rpc::Channel> channel) : channel_(channel), stub_(channel) {}

absl::StatusOr<InitResponse> FsClient::Init() {
  InitRequest request;
  request.set_protocol_version(kProtocolVersion);
  InitResponse response;
  absl::Status rpc = stub_.Init(request, &response, nullptr);
  if (absl::Status s = Outcome(rpc, response, [] { return std::string("init"); }); !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<StatfsResponse> FsClient::Statfs() {
  StatfsResponse response;
  absl::Status rpc = stub_.Statfs(StatfsRequest(), &response, nullptr);
  if (absl::Status s = Outcome(rpc, response, [] { return std::string("statfs"); }); !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<Entry> FsClient::Lookup(uint64_t parent, absl::string_view name) {
  LookupRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  EntryResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Lookup(request, &response, nullptr), response, [&] {
    return absl::StrFormat("lookup \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
  if (!s.ok()) return s;
  return std::move(*response.mutable_entry());
}

absl::Status FsClient::Forget(uint64_t ino, uint64_t nlookup) {
  ForgetRequest request;
  ForgetRequest::Item* item = request.add_items();
  item->set_ino(ino);
  item->set_nlookup(nlookup);
  Result response;
  return Outcome(stub_.Forget(request, &response, nullptr), response,
                 [&] { return absl::StrFormat("forget inode %d", ino); });
}

absl::StatusOr<Attr> FsClient::GetAttr(uint64_t ino) {
  GetAttrRequest request;
  request.set_ino(ino);
  AttrResponse response;
  absl::Status s = Outcome(stub_.GetAttr(request, &response, nullptr), response,
                           [&] { return absl::StrFormat("getattr inode %d", ino); });
  if (!s.ok()) return s;
  return std::move(*response.mutable_attr());
}

absl::StatusOr<Attr> FsClient::SetAttr(const SetAttrRequest& request) {
  AttrResponse response;
  absl::Status rpc;
  if (on_behalf_of_.has_value() && !request.has_on_behalf_of()) {
    SetAttrRequest stamped = request;
    Stamp(&stamped);
    rpc = stub_.SetAttr(stamped, &response, nullptr);
  } else {
    rpc = stub_.SetAttr(request, &response, nullptr);
  }
  absl::Status s =
      Outcome(rpc, response, [&] { return absl::StrFormat("setattr inode %d", request.ino()); });
  if (!s.ok()) return s;
  return std::move(*response.mutable_attr());
}

absl::StatusOr<Entry> FsClient::Mkdir(uint64_t parent, absl::string_view name, uint32_t mode) {
  MkdirRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  request.set_mode(mode);
  EntryResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Mkdir(request, &response, nullptr), response, [&] {
    return absl::StrFormat("mkdir \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
  if (!s.ok()) return s;
  return std::move(*response.mutable_entry());
}

absl::StatusOr<Entry> FsClient::Mknod(uint64_t parent, absl::string_view name, uint32_t mode,
                                      uint64_t rdev) {
  MknodRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  request.set_mode(mode);
  request.set_rdev(rdev);
  EntryResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Mknod(request, &response, nullptr), response, [&] {
    return absl::StrFormat("mknod \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
  if (!s.ok()) return s;
  return std::move(*response.mutable_entry());
}

absl::StatusOr<Entry> FsClient::Symlink(uint64_t parent, absl::string_view name,
                                        absl::string_view target) {
  SymlinkRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  request.set_target(std::string(target));
  EntryResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Symlink(request, &response, nullptr), response, [&] {
    return absl::StrFormat("symlink \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
  if (!s.ok()) return s;
  return std::move(*response.mutable_entry());
}

absl::StatusOr<Entry> FsClient::Link(uint64_t ino, uint64_t new_parent,
                                     absl::string_view new_name) {
  LinkRequest request;
  request.set_ino(ino);
  request.set_new_parent(new_parent);
  request.set_new_name(std::string(new_name));
  EntryResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Link(request, &response, nullptr), response, [&] {
    return absl::StrFormat("link inode %d as \"%s\" in inode %d", ino, absl::CHexEscape(new_name),
                           new_parent);
  });
  if (!s.ok()) return s;
  return std::move(*response.mutable_entry());
}

absl::Status FsClient::Unlink(uint64_t parent, absl::string_view name) {
  UnlinkRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  Result response;
  Stamp(&request);
  return Outcome(stub_.Unlink(request, &response, nullptr), response, [&] {
    return absl::StrFormat("unlink \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
}

absl::Status FsClient::Rmdir(uint64_t parent, absl::string_view name) {
  UnlinkRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  Result response;
  Stamp(&request);
  return Outcome(stub_.Rmdir(request, &response, nullptr), response, [&] {
    return absl::StrFormat("rmdir \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
}

absl::Status FsClient::Rename(uint64_t parent, absl::string_view name, uint64_t new_parent,
                              absl::string_view new_name, uint32_t flags) {
  RenameRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  request.set_new_parent(new_parent);
  request.set_new_name(std::string(new_name));
  request.set_flags(flags);
  Result response;
  Stamp(&request);
  return Outcome(stub_.Rename(request, &response, nullptr), response, [&] {
    return absl::StrFormat("rename \"%s\" in inode %d to \"%s\" in inode %d",
                           absl::CHexEscape(name), parent, absl::CHexEscape(new_name), new_parent);
  });
}

absl::StatusOr<std::string> FsClient::ReadLink(uint64_t ino) {
  ReadLinkRequest request;
  request.set_ino(ino);
  ReadLinkResponse response;
  absl::Status s = Outcome(stub_.ReadLink(request, &response, nullptr), response,
                           [&] { return absl::StrFormat("readlink inode %d", ino); });
  if (!s.ok()) return s;
  return std::move(*response.mutable_target());
}

absl::StatusOr<FsClient::Created> FsClient::Create(uint64_t parent, absl::string_view name,
                                                   uint32_t mode, uint32_t flags) {
  CreateRequest request;
  request.set_parent(parent);
  request.set_name(std::string(name));
  request.set_mode(mode);
  request.set_flags(flags);
  CreateResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Create(request, &response, nullptr), response, [&] {
    return absl::StrFormat("create \"%s\" in inode %d", absl::CHexEscape(name), parent);
  });
  if (!s.ok()) return s;
  return Created{std::move(*response.mutable_entry()), response.fh()};
}

absl::StatusOr<uint64_t> FsClient::Open(uint64_t ino, uint32_t flags) {
  OpenRequest request;
  request.set_ino(ino);
  request.set_flags(flags);
  OpenResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.Open(request, &response, nullptr), response,
                           [&] { return absl::StrFormat("open inode %d", ino); });
  if (!s.ok()) return s;
  return response.fh();
}

FsClient::ReadCall::ReadCall(uint64_t ino, uint64_t fh, int64_t offset, uint32_t size) {
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_offset(offset);
  request.set_size(size);
}

absl::Status FsClient::ReadOutcome(const absl::Status& rpc, const ReadCall& call) {
  return Outcome(rpc, call.response, [&] {
    return absl::StrFormat("read %d bytes at %d of inode %d", call.request.size(),
                           call.request.offset(), call.request.ino());
  });
}

void FsClient::ReadAsync(ReadCall* call, rpc::DoneCallback done) {
  stub_.ReadAsync(call->request, &call->response, &call->context, std::move(done));
}

absl::StatusOr<rpc::Attachment> FsClient::Read(uint64_t ino, uint64_t fh, int64_t offset,
                                               uint32_t size) {
  ReadCall call(ino, fh, offset, size);
  absl::Status s = ReadOutcome(stub_.Read(call.request, &call.response, &call.context), call);
  if (!s.ok()) return s;
  return std::move(call.context.response_attachment());
}

absl::StatusOr<size_t> FsClient::ReadFully(uint64_t ino, uint64_t fh, int64_t offset,
                                           std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const uint32_t want = static_cast<uint32_t>(std::min<size_t>(out.size() - done, kMaxIoSize));
    absl::StatusOr<rpc::Attachment> piece = Read(ino, fh, offset + done, want);
    if (!piece.ok()) return piece.status();
    const size_t got = std::min<size_t>(piece->size(), want);
    if (got == 0) break;
    std::memcpy(out.data() + done, piece->data().data(), got);
    done += got;
  }
  return done;
}

absl::StatusOr<uint32_t> FsClient::Write(uint64_t ino, uint64_t fh, int64_t offset,
                                         rpc::Attachment& data) {
  WriteRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_offset(offset);
  const size_t size = data.size();
  WriteResponse response;
  ClientContext context;
  context.set_request_attachment(std::move(data));
  Stamp(&request);
  absl::Status rpc = stub_.Write(request, &response, &context);
  data = std::move(context.request_attachment());
  absl::Status s = Outcome(rpc, response, [&] {
    return absl::StrFormat("write %d bytes at %d of inode %d", size, offset, ino);
  });
  if (!s.ok()) return s;
  return response.size();
}

absl::StatusOr<rpc::Attachment> FsClient::WriteBuffer() {
  return channel().AllocateAttachment(kMaxIoSize);
}

absl::Status FsClient::WriteFully(uint64_t ino, uint64_t fh, int64_t offset,
                                  std::span<const std::byte> data) {
  rpc::Attachment buffer;
  size_t done = 0;
  while (done < data.size()) {
    if (!buffer.is_dma() && buffer.size() == 0) {  // the first, or one that did not come back
      absl::StatusOr<rpc::Attachment> fresh = WriteBuffer();
      if (!fresh.ok()) return fresh.status();
      buffer = *std::move(fresh);
    }
    const size_t n = std::min<size_t>(data.size() - done, kMaxIoSize);
    buffer.resize(n);
    std::memcpy(buffer.data().data(), data.data() + done, n);
    absl::StatusOr<uint32_t> written = Write(ino, fh, offset + done, buffer);
    if (!written.ok()) return written.status();
    if (*written != n) {
      return ErrnoError(EIO, absl::StrFormat("write at %d of inode %d: %d of %d bytes written",
                                             offset + done, ino, *written, n));
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::Status FsClient::Flush(uint64_t ino, uint64_t fh) {
  HandleRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  Result response;
  return Outcome(stub_.Flush(request, &response, nullptr), response,
                 [&] { return absl::StrFormat("flush inode %d", ino); });
}

absl::Status FsClient::Release(uint64_t ino, uint64_t fh) {
  HandleRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  Result response;
  return Outcome(stub_.Release(request, &response, nullptr), response,
                 [&] { return absl::StrFormat("release inode %d", ino); });
}

absl::Status FsClient::Fsync(uint64_t ino, uint64_t fh, bool datasync) {
  HandleRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_datasync(datasync);
  Result response;
  return Outcome(stub_.Fsync(request, &response, nullptr), response,
                 [&] { return absl::StrFormat("fsync inode %d", ino); });
}

absl::StatusOr<uint64_t> FsClient::OpenDir(uint64_t ino) {
  OpenDirRequest request;
  request.set_ino(ino);
  OpenResponse response;
  Stamp(&request);
  absl::Status s = Outcome(stub_.OpenDir(request, &response, nullptr), response,
                           [&] { return absl::StrFormat("opendir inode %d", ino); });
  if (!s.ok()) return s;
  return response.fh();
}

absl::StatusOr<std::vector<DirEntry>> FsClient::ReadDir(uint64_t ino, uint64_t fh, uint64_t offset,
                                                        uint32_t size) {
  ReadDirRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_offset(offset);
  request.set_size(size);
  ReadDirResponse response;
  ClientContext context;
  absl::Status s = Outcome(stub_.ReadDir(request, &response, &context), response,
                           [&] { return absl::StrFormat("readdir inode %d at %d", ino, offset); });
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<DirEntry>> entries =
      DecodeDirEntries(context.response_attachment().data());
  if (!entries.ok()) {
    return ErrnoError(EIO,
                      absl::StrFormat("readdir inode %d: %s", ino, entries.status().message()));
  }
  if (entries->size() != response.entries()) {
    return ErrnoError(EIO, absl::StrFormat("readdir inode %d: %d entries, the server said %d", ino,
                                           entries->size(), response.entries()));
  }
  return entries;
}

absl::Status FsClient::ReleaseDir(uint64_t ino, uint64_t fh) {
  HandleRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  Result response;
  return Outcome(stub_.ReleaseDir(request, &response, nullptr), response,
                 [&] { return absl::StrFormat("releasedir inode %d", ino); });
}

absl::Status FsClient::Fallocate(uint64_t ino, uint64_t fh, uint32_t mode, int64_t offset,
                                 int64_t length) {
  FallocateRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_mode(mode);
  request.set_offset(offset);
  request.set_length(length);
  Stamp(&request);
  Result response;
  return Outcome(stub_.Fallocate(request, &response, nullptr), response, [&] {
    return absl::StrFormat("fallocate mode %d of inode %d at %d for %d", mode, ino, offset, length);
  });
}

absl::StatusOr<uint64_t> FsClient::CopyFileRange(uint64_t ino_in, uint64_t fh_in, int64_t offset_in,
                                                 uint64_t ino_out, uint64_t fh_out,
                                                 int64_t offset_out, uint64_t length) {
  CopyFileRangeRequest request;
  request.set_ino_in(ino_in);
  request.set_fh_in(fh_in);
  request.set_offset_in(offset_in);
  request.set_ino_out(ino_out);
  request.set_fh_out(fh_out);
  request.set_offset_out(offset_out);
  request.set_length(length);
  Stamp(&request);
  CopyFileRangeResponse response;
  absl::Status s = Outcome(stub_.CopyFileRange(request, &response, nullptr), response, [&] {
    return absl::StrFormat("copy_file_range from inode %d to inode %d", ino_in, ino_out);
  });
  if (!s.ok()) return s;
  return response.size();
}

absl::Status FsClient::SetXattr(uint64_t ino, absl::string_view name, absl::string_view value,
                                uint32_t flags) {
  SetXattrRequest request;
  request.set_ino(ino);
  request.set_name(std::string(name));
  request.set_value(std::string(value));
  request.set_flags(flags);
  Stamp(&request);
  Result response;
  return Outcome(stub_.SetXattr(request, &response, nullptr), response, [&] {
    return absl::StrFormat("setxattr \"%s\" of inode %d", absl::CHexEscape(name), ino);
  });
}

absl::StatusOr<GetXattrResponse> FsClient::GetXattr(uint64_t ino, absl::string_view name,
                                                    uint32_t size) {
  GetXattrRequest request;
  request.set_ino(ino);
  request.set_name(std::string(name));
  request.set_size(size);
  Stamp(&request);
  GetXattrResponse response;
  absl::Status s = Outcome(stub_.GetXattr(request, &response, nullptr), response, [&] {
    return absl::StrFormat("getxattr \"%s\" of inode %d", absl::CHexEscape(name), ino);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<ListXattrResponse> FsClient::ListXattr(uint64_t ino, uint32_t size) {
  ListXattrRequest request;
  request.set_ino(ino);
  request.set_size(size);
  Stamp(&request);
  ListXattrResponse response;
  absl::Status s = Outcome(stub_.ListXattr(request, &response, nullptr), response,
                           [&] { return absl::StrFormat("listxattr of inode %d", ino); });
  if (!s.ok()) return s;
  return response;
}

absl::Status FsClient::RemoveXattr(uint64_t ino, absl::string_view name) {
  RemoveXattrRequest request;
  request.set_ino(ino);
  request.set_name(std::string(name));
  Stamp(&request);
  Result response;
  return Outcome(stub_.RemoveXattr(request, &response, nullptr), response, [&] {
    return absl::StrFormat("removexattr \"%s\" of inode %d", absl::CHexEscape(name), ino);
  });
}

absl::StatusOr<ReadDirPlusResponse> FsClient::ReadDirPlus(uint64_t ino, uint64_t fh,
                                                          uint64_t offset, uint32_t size) {
  ReadDirPlusRequest request;
  request.set_ino(ino);
  request.set_fh(fh);
  request.set_offset(offset);
  request.set_size(size);
  Stamp(&request);
  ReadDirPlusResponse response;
  absl::Status s = Outcome(stub_.ReadDirPlus(request, &response, nullptr), response, [&] {
    return absl::StrFormat("readdirplus of inode %d at %d", ino, offset);
  });
  if (!s.ok()) return s;
  return response;
}

}  // namespace syslink::examples::fs
