#!/usr/bin/env bash
# syslinkd's command line: --help exits 0 and names every flag; a bad argument exits 2
# with a message naming it, before anything is started.
#
#   syslinkd_usage_test.sh SYSLINKD    (a runfiles path, as Bazel gives it)
set -uo pipefail

syslinkd=$(realpath "$1")
socket="$TEST_TMPDIR/broker/broker.sock"  # never created: every case fails before
failures=0

# expect STATUS MESSAGE ARGS...: syslinkd ARGS exits STATUS and prints MESSAGE.
expect() {
  local status=$1 expected=$2
  shift 2
  local out got
  out=$(timeout 10 "$syslinkd" "$@" 2>&1)
  got=$?
  if [[ $got -ne $status || "$out" != *"$expected"* ]]; then
    echo "FAIL syslinkd $*: exit $got (want $status), output:" >&2
    echo "$out" | sed 's/^/  /' >&2
    echo "  (want it to contain: $expected)" >&2
    failures=$((failures + 1))
  fi
}

for flag in --socket --socket-mode --policy --idle-timeout --idle-exit --accept-timeout \
    --max-connections-per-uid --max-services-per-uid --max-pending-connects-per-uid \
    --kernel-descriptor-guard --help; do
  expect 0 "$flag" --help
done
expect 2 "--socket-mode wants octal permission bits, 0 to 777 (got 'abc')" \
  --socket "$socket" --socket-mode abc
expect 2 "(got '9')" --socket "$socket" --socket-mode 9
expect 2 "(got '1777')" --socket "$socket" --socket-mode 1777
expect 2 "(got '')" --socket "$socket" --socket-mode=
expect 2 "--idle-timeout wants a positive number of seconds" --socket "$socket" --idle-timeout 0
expect 2 "--idle-exit wants seconds or a duration such as 90s or 500ms (got '0')" \
  --socket "$socket" --idle-exit 0
expect 2 "--idle-exit wants seconds or a duration" --socket "$socket" --idle-exit=-5s
expect 2 "--idle-exit wants seconds or a duration" --socket "$socket" --idle-exit=inf
expect 2 "--accept-timeout wants seconds or a duration" --socket "$socket" --accept-timeout 0
expect 2 "--accept-timeout wants seconds or a duration" --socket "$socket" --accept-timeout soon
expect 2 "--max-services-per-uid wants a positive number (got '-1')" --socket "$socket" \
  --max-services-per-uid=-1
expect 2 "--kernel-descriptor-guard wants on or off" --socket "$socket" \
  --kernel-descriptor-guard=maybe
expect 2 "--policy wants a file (got '')" --socket "$socket" --policy=
# A policy that cannot be read stops it before the socket's directory is made.
short_socket="/tmp/sl-usage-$$/broker.sock"
expect 1 "cannot read the name policy file /nonexistent/policy" --socket "$short_socket" \
  --policy /nonexistent/policy
if [[ -e "${short_socket%/*}" ]]; then
  echo "FAIL: a refused policy file left ${short_socket%/*} behind" >&2
  rm -rf "${short_socket%/*}"
  failures=$((failures + 1))
fi
expect 2 "unknown argument '--bogus'" --bogus
if [[ -e "$socket" ]]; then
  echo "FAIL: a refused command line created $socket" >&2
  failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures case(s) failed" >&2
  exit 1
fi
echo "all syslinkd usage cases passed"
