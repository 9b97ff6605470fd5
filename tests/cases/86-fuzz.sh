#!/usr/bin/env bash
# The libFuzzer targets (tests/fuzz/fuzz_*.c: config parser, OTLP response
# parser, `hostlat ping`'s reply decoder): every checked-in corpus input runs
# once (the regression inputs of earlier findings are among them), then each
# target fuzzes for FUZZ_TEST_TIME seconds (default 5) from that corpus. Any
# crash, leak, sanitizer report or broken contract fails the test and leaves
# the input in the log. `make fuzz` is the long run.
source "$(dirname "$0")/../lib.sh"

secs=${FUZZ_TEST_TIME:-5}
make --no-print-directory BUILD="$BUILD" fuzzers >"$TMP/make.log" 2>&1 || {
	cat "$TMP/make.log" >&2
	fail "cannot build the fuzz targets (make fuzzers; clang's libFuzzer runtime is in libclang-rt-*-dev)"
}
n=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$BUILD/fuzz/$name
	seeds=tests/fuzz/corpus/$name
	[ -x "$bin" ] || fail "$bin was not built"
	[ -d "$seeds" ] && [ -n "$(ls "$seeds")" ] || fail "$name has no corpus in $seeds"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	mkdir -p "$TMP/$name"
	# Each checked-in input once.
	"$bin" -runs=0 "$seeds" >"$TMP/$name.seeds.log" 2>&1 || {
		tail -n 40 "$TMP/$name.seeds.log" >&2
		fail "$name: a corpus input fails"
	}
	# Then a short fuzzing run; new inputs go to a scratch directory.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
		-artifact_prefix="$TMP/$name-" "$TMP/$name" "$seeds" >"$TMP/$name.log" 2>&1 || {
		tail -n 40 "$TMP/$name.log" >&2
		for f in "$TMP/$name"-*; do
			[ -f "$f" ] && echo "input ($f): $(base64 -w0 "$f")" >&2
		done
		fail "$name: crash or sanitizer report (add the input above to $seeds as regress-*)"
	}
	echo "$name: $(ls "$seeds" | wc -l) corpus inputs pass; $(grep -o 'Done [0-9]* runs' "$TMP/$name.log")"
	n=$((n + 1))
done
[ $n -ge 3 ] || fail "only $n fuzz targets"
ok "$n fuzz targets: corpus and ${secs}s of fuzzing each without a finding"
