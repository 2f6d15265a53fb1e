// The `fs` CLI's commands (fs_cli.cc) over an FsClient, apart from connecting: ls, stat,
// cat, put, get, mkdir, rm, mv.
//
//   FsClient fs(channel);
//   int code = RunFsCommand(fs, {"ls", "-l", "/docs"}, stdout, stderr);
//
// Each command goes on past a failing argument, as coreutils do, and reports each failure
// on `err` as "fs: <what failed>: <strerror> (<ERRNO>)".
//
// Thread safety: as the FsClient. Paths on the server are from its root; local paths (put's
// source, get's destination) are the caller's own.

#ifndef SYSLINK_EXAMPLES_FS_FS_COMMANDS_H_
#define SYSLINK_EXAMPLES_FS_FS_COMMANDS_H_

#include <cstdio>
#include <string>
#include <vector>

#include "examples/fs/fs_client.h"

namespace syslink::examples::fs {

// What each command does, for --help.
extern const char kFsCommandsHelp[];

// Runs the command args[0] with its arguments. Returns the exit code: 0 when everything
// succeeded, 1 when an operation failed, 2 for an unknown command or wrong arguments.
int RunFsCommand(FsClient& fs, const std::vector<std::string>& args, std::FILE* out,
                 std::FILE* err);

// "drwxr-xr-x" for a mode, as ls -l shows it.
std::string ModeString(uint32_t mode);

}  // namespace syslink::examples::fs

#endif  // SYSLINK_EXAMPLES_FS_FS_COMMANDS_H_
