#!/usr/bin/env bash
# The golden-file test of protoc-gen-syslink: what the plugin wrote for testdata/golden.proto
# must equal the checked-in testdata/golden.syslink.{h,cc}.golden byte for byte.
#
#   golden_test.sh GOLDEN GENERATED [GOLDEN GENERATED ...]    (paths as BUILD.bazel gives them)
set -uo pipefail

status=0
while [[ $# -ge 2 ]]; do
  golden=$1 generated=$2
  shift 2
  if ! diff -u --label "$golden (expected)" --label "$generated (generated)" \
      "$golden" "$generated"; then
    echo "FAIL: the generated code differs from $golden (diff above)." >&2
    status=1
  fi
done
if [[ $status -ne 0 ]]; then
  cat >&2 <<'MSG'
If the change to the generated code is intended, regenerate the golden files, review the
diff and commit them:
  bazel run //rpc/compiler:update_golden
MSG
fi
exit $status
