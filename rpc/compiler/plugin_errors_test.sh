#!/usr/bin/env bash
# protoc-gen-syslink, run by protoc, must refuse what it cannot generate: protoc exits
# non-zero and prints the plugin's message, which names the offending rpc or parameter.
#
#   plugin_errors_test.sh PROTOC PLUGIN TESTDATA_PROTO    (runfiles paths, as Bazel gives them)
set -uo pipefail

protoc=$(realpath "$1")
plugin=$(realpath "$2")
# Import paths start at the repository's root: "." here, "../syslink" when this repository
# is an external one.
root=${3%rpc/compiler/testdata/*}
cd "${root:-.}" || exit 1
testdata=rpc/compiler/testdata
failures=0

# expect_failure NAME EXPECTED_MESSAGE PROTOC_ARGS...
expect_failure() {
  local name=$1 expected=$2
  shift 2
  local out="$TEST_TMPDIR/$name"
  mkdir -p "$out"
  local stderr
  if stderr=$("$protoc" --plugin=protoc-gen-syslink="$plugin" -I. "$@" 2>&1 >/dev/null); then
    echo "FAIL $name: protoc succeeded; expected an error containing: $expected" >&2
    failures=$((failures + 1))
  elif [[ "$stderr" != *"$expected"* ]]; then
    echo "FAIL $name: expected an error containing: $expected" >&2
    echo "  protoc printed: $stderr" >&2
    failures=$((failures + 1))
  else
    echo "ok   $name: $stderr"
  fi
}

expect_failure unknown_parameter \
  'unknown parameter "verbose": protoc-gen-syslink takes no parameters' \
  --syslink_out=verbose:"$TEST_TMPDIR/unknown_parameter" "$testdata/golden_types.proto"
expect_failure unknown_parameter_opt \
  'unknown parameter "lite": protoc-gen-syslink takes no parameters' \
  --syslink_out="$TEST_TMPDIR/unknown_parameter_opt" --syslink_opt=lite=true \
  "$testdata/golden_types.proto"
expect_failure colliding_ids \
  'rpcs syslink.compiler_test.CollidingService.Method229618 and syslink.compiler_test.CollidingService.Method801496 have the same method id 265196309' \
  --syslink_out="$TEST_TMPDIR/colliding_ids" "$testdata/errors/colliding_ids.proto"
expect_failure reserved_name \
  'rpc syslink.compiler_test.ReservedService.Dispatch is named like a member of the generated classes' \
  --syslink_out="$TEST_TMPDIR/reserved_name" "$testdata/errors/reserved_name.proto"
expect_failure dispatch_local \
  'rpc syslink.compiler_test.LocalService.status is named like a local variable of the generated Dispatch()' \
  --syslink_out="$TEST_TMPDIR/dispatch_local" "$testdata/errors/dispatch_local.proto"
expect_failure constant_name \
  'rpc syslink.compiler_test.ConstantService.kGetMethodId is named like the constant kGetMethodId generated for rpc syslink.compiler_test.ConstantService.Get' \
  --syslink_out="$TEST_TMPDIR/constant_name" "$testdata/errors/constant_name.proto"
expect_failure service_member \
  'service syslink.compiler_test.Dispatch is named like a member of its generated class' \
  --syslink_out="$TEST_TMPDIR/service_member" "$testdata/errors/service_member.proto"
expect_failure generic_services \
  'option cc_generic_services = true makes protoc declare class GenericService in the .pb.h' \
  --syslink_out="$TEST_TMPDIR/generic_services" "$testdata/errors/generic_services.proto"
expect_failure keyword_rpc \
  'rpc syslink.compiler_test.KeywordService.delete is named like a C++ keyword' \
  --syslink_out="$TEST_TMPDIR/keyword_rpc" "$testdata/errors/keyword_rpc.proto"
expect_failure keyword_service \
  'service syslink.compiler_test.template is named like a C++ keyword' \
  --syslink_out="$TEST_TMPDIR/keyword_service" "$testdata/errors/keyword_service.proto"

# And nothing is written for a refused file.
if [[ -n "$(find "$TEST_TMPDIR" -name '*.syslink.*')" ]]; then
  echo "FAIL: files were written for a refused .proto:" >&2
  find "$TEST_TMPDIR" -name '*.syslink.*' >&2
  failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures case(s) failed" >&2
  exit 1
fi
