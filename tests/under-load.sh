#!/usr/bin/env bash
# tests/under-load.sh [RUNS] [PATTERN]: the whole suite (tests/run.sh) RUNS
# times in a row (default 3) while one busy loop per CPU, pinned to it,
# competes with every test for the processor: a test that depends on timing
# luck (a sleep instead of a wait for a state, a single read racing a
# signal) fails here. Prints each run's summary and a final line
# "under load: N of RUNS runs passed"; exits 0 only when every run passed.
# The busy loops end with this script, however it ends.
set -u
cd "$(dirname "$0")/.."
runs=${1:-3}
pattern=${2:-}
ncpu=$(nproc)
hogs=()
stop_hogs() {
	[ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2>/dev/null
	wait 2>/dev/null
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for ((c = 0; c < ncpu; c++)); do
	taskset -c "$c" sh -c 'while :; do :; done' &
	hogs+=($!)
done
echo "under load: $ncpu busy loops (one pinned per CPU), $runs runs of tests/run.sh $pattern"
good=0
for ((r = 1; r <= runs; r++)); do
	start=$SECONDS
	out=${BUILD:-build}/test-logs/under-load-run$r.txt
	mkdir -p "$(dirname "$out")"
	tests/run.sh $pattern >"$out" 2>&1
	rc=$?
	echo "run $r: $(tail -n 1 "$out") in $((SECONDS - start)) s (output: $out)"
	grep '^FAIL' "$out" | sed 's/^/  /'
	# the next run overwrites the logs: keep the failed tests' logs, and
	# the guests' own logs, of this run
	if [ $rc -ne 0 ]; then
		keep=${out%.txt}
		mkdir -p "$keep" && keep=$(cd "$keep" && pwd)
		sed -n 's/^FAIL .*log \(.*\))$/\1/p' "$out" | while read -r log; do
			cp "$log" "$keep/" 2>/dev/null
		done
		(cd "${BUILD:-build}" && find kernels -path '*-cases-*' -type f \
			-size -5M -exec cp --parents {} "$keep/" \; 2>/dev/null)
	fi
	[ $rc -eq 0 ] && good=$((good + 1))
done
echo "under load: $good of $runs runs passed"
[ "$good" -eq "$runs" ]
