#!/usr/bin/env bash
# Regenerates the golden files of protoc-gen-syslink's golden-file test (golden_test.sh)
# from the current generator:
#
#   bazel run //rpc/compiler:update_golden
#
# Review the diff (git diff rpc/compiler/testdata) before committing it.
set -euo pipefail

if [[ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]]; then
  echo "run this with: bazel run //rpc/compiler:update_golden" >&2
  exit 2
fi
testdata="$BUILD_WORKSPACE_DIRECTORY/rpc/compiler/testdata"
for generated in "$@"; do
  golden="$testdata/$(basename "$generated").golden"
  cp "$generated" "$golden"
  chmod 0644 "$golden"
  echo "wrote $golden"
done
