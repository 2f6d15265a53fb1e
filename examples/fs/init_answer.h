// FillInit(): the Init answer every server of fs.proto gives (memfs, passthrough): the
// protocol version, the root inode and the I/O limits of fs_format.h.
//
//   return Answer(response, FillInit(request, response));
//
// Thread safety: a pure function. Errors: returns EPROTO, with `response` untouched, when
// the client speaks another protocol version; 0 otherwise.

#ifndef SYSLINK_EXAMPLES_FS_INIT_ANSWER_H_
#define SYSLINK_EXAMPLES_FS_INIT_ANSWER_H_

#include "examples/fs/fs.pb.h"

namespace syslink::examples::fs {

int FillInit(const InitRequest& request, InitResponse* response);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_INIT_ANSWER_H_
