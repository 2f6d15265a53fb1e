#include "examples/fs/init_answer.h"

#include <errno.h>

#include "examples/fs/fs_format.h"

namespace syslink::examples::fs {

int FillInit(const InitRequest& request, InitResponse* response) {
  if (request.protocol_version() != kProtocolVersion) return EPROTO;
  response->set_protocol_version(kProtocolVersion);
  response->set_root_ino(kRootIno);
  response->set_max_read(kMaxIoSize);
  response->set_max_write(kMaxIoSize);
  response->set_max_readdir(kMaxIoSize);
  return 0;
}

}  // namespace syslink::examples::fs
