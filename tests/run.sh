#!/usr/bin/env bash
# Runs every test: the unit binaries (built with ASan/UBSan) and the scripts
# in tests/cases/. A test passes with exit 0, is skipped with 77, fails
# otherwise. Prints one line per test and a final "N passed, N failed".
# Usage: tests/run.sh [PATTERN]   (only tests whose name contains PATTERN)
#
# Guest tests: a script with the line `# run.sh: guest SECONDS` (a row of
# the kernel matrix: it boots its own kernel under QEMU and shares nothing
# with the host's tests but the built binaries) runs next to the others.
# An emulated guest keeps one host thread busy: with TEST_JOBS (default: the
# number of CPUs, at most 2) greater than 1, TEST_JOBS - 1 guests run while
# the host's tests do, TEST_JOBS once those are done; with 1, the guests run
# one after the other at the end. SECONDS (what the row takes on an idle
# machine) orders them, longest first. Their lines come after the others.
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

logof() { echo "$logdir/$(echo "$1" | tr '/ ' '__').log"; }

# run_one NAME CMD...: runs one test (timeout(1) in the background, so that
# a signal reaches the trap at once); its exit code and seconds go to LOG.rc.
run_one() {
	local name=$1
	shift
	local log start=$SECONDS rc
	log=$(logof "$name")
	rm -f "$log.rc"
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1 &
	wait $!
	rc=$?
	echo "$rc $((SECONDS - start))" >"$log.rc"
}

# report NAME: the line of a test that run_one ran; counts it.
report() {
	local name=$1 log rc=1 took=0
	log=$(logof "$name")
	[ -s "$log.rc" ] && read -r rc took <"$log.rc"
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS  %-40s %4ss\n' "$name" "$took" ;;
	77) skipped=$((skipped + 1)); printf 'SKIP  %-40s %4ss  %s\n' "$name" "$took" "$(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   printf 'FAIL  %-40s %4ss  (exit %s, log %s)\n' "$name" "$took" "$rc" "$log"
	   tail -n 25 "$log" | sed 's/^/      | /' ;;
	esac
}

selected() { [ -z "$pattern" ] || [[ $1 == *"$pattern"* ]]; }

# The guest tests, longest first.
guests=()
while read -r _ name; do
	guests+=("$name")
done < <(for t in tests/cases/*.sh; do
	name=$(basename "$t" .sh)
	[ -x "$t" ] && selected "$name" || continue
	secs=$(sed -n 's/^# run\.sh: guest \([0-9][0-9]*\)$/\1/p' "$t")
	[ -n "$secs" ] && echo "$secs $name"
done | sort -k1,1nr -k2)
is_guest() { [[ " ${guests[*]} " == *" $1 "* ]]; }

# worker: runs the guest tests no other worker has claimed, in turn.
claims=$(mktemp -d "$logdir/.claims.XXXXXX")
worker() {
	trap 'kill -TERM $(jobs -p) 2>/dev/null; wait; exit 130' INT TERM
	local name
	for name in "${guests[@]}"; do
		mkdir "$claims/$name" 2>/dev/null || continue
		run_one "$name" "tests/cases/$name.sh"
	done
}
workers=0
start_workers() { # N: N more workers, in the background
	local i
	for ((i = 0; i < $1; i++)); do
		worker &
		workers=$((workers + 1))
	done
}
# Interrupted: every worker and every test's timeout(1) passes the signal on
# (the tests' traps clean up, boot.sh's ends its guest).
trap 'kill -TERM $(jobs -p) 2>/dev/null; wait; rm -rf "$claims"; exit 130' INT TERM
jobs_max=${TEST_JOBS:-$(nproc)}
[ -z "${TEST_JOBS:-}" ] && [ "$jobs_max" -gt 2 ] && jobs_max=2
[ "$jobs_max" -ge 1 ] 2>/dev/null || jobs_max=1
if [ ${#guests[@]} -gt 0 ] && [ "$jobs_max" -gt 1 ]; then
	echo "-- ${#guests[@]} guest tests, $((jobs_max - 1)) at a time next to the others, then $jobs_max"
	start_workers $((jobs_max - 1))
fi

for t in "$BUILD"/tests/test_*; do
	name=unit/$(basename "$t")
	[ -x "$t" ] && selected "$name" && { run_one "$name" "$t"; report "$name"; }
done
for t in tests/cases/*.sh; do
	name=$(basename "$t" .sh)
	[ -x "$t" ] && selected "$name" || continue
	is_guest "$name" && continue
	run_one "$name" "$t"
	report "$name"
done

if [ ${#guests[@]} -gt 0 ]; then
	start_workers $((jobs_max - workers))
	wait
	for name in "${guests[@]}"; do
		report "$name"
	done
fi
rm -rf "$claims"

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
