#!/usr/bin/env bash
# Runs every test: the unit binaries (built with ASan/UBSan) and the scripts
# in tests/cases/. A test passes with exit 0, is skipped with 77, fails
# otherwise. Prints one line per test and a final "N passed, N failed".
# Usage: tests/run.sh [PATTERN]   (only tests whose name contains PATTERN)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pattern=${1:-}
logdir=$BUILD/test-logs
mkdir -p "$logdir"
passed=0 failed=0 skipped=0
failures=()

run_one() {
	local name=$1
	shift
	[ -n "$pattern" ] && [[ $name != *"$pattern"* ]] && return
	local log=$logdir/$(echo "$name" | tr '/ ' '__').log
	local start=$SECONDS rc
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
	rc=$?
	local took=$((SECONDS - start))
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS  %-40s %4ss\n' "$name" "$took" ;;
	77) skipped=$((skipped + 1)); printf 'SKIP  %-40s %4ss  %s\n' "$name" "$took" "$(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   printf 'FAIL  %-40s %4ss  (exit %s, log %s)\n' "$name" "$took" "$rc" "$log"
	   tail -n 25 "$log" | sed 's/^/      | /' ;;
	esac
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in tests/cases/*.sh; do
	[ -x "$t" ] && run_one "$(basename "$t" .sh)" "$t"
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
