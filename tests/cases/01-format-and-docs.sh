#!/usr/bin/env bash
# The C sources follow .clang-format (kernel style), README.md's config
# reference is what the agent's own option table prints, and README.md's
# metrics table names every metric the code defines and no other
# (tools/readme-metrics.sh, which must fail on a table or a code base that
# disagree, or that it finds no name in).
source "$(dirname "$0")/../lib.sh"
command -v clang-format >/dev/null || skip "clang-format not installed"
files=$(ls agent/*/*.[ch] exporters/*.[ch] bpf/*.[ch] tests/unit/*.[ch])
clang-format --dry-run --Werror $files || fail "clang-format: run 'make format'"
ok "clang-format clean"
tools/readme-reference.sh "$BUILD/hostlat" --check || fail "README config reference stale"
ok "README config reference up to date"
grep -q 'make run' README.md && grep -q 'make test' README.md || fail "README lacks the two commands"

tools/readme-metrics.sh || fail "README's metrics table and the code's metric names differ"
ok "README's metrics table names every metric of the code, and no other"
# metrics_fails PATTERN README [DIR...]: readme-metrics.sh must fail, saying PATTERN.
metrics_fails() {
	local want=$1
	shift
	! tools/readme-metrics.sh "$@" 2>"$TMP/metrics.err" && grep -q -- "$want" "$TMP/metrics.err" ||
		{ cat "$TMP/metrics.err" >&2; fail "readme-metrics.sh $*: passed, or did not say '$want'"; }
}
row=$(awk '/^## / {s = $0 == "## Metrics"; next} s && /^\| `hostlat\./ {print; exit}' README.md)
name=$(echo "$row" | sed -n 's/^| `\(hostlat\.[^`]*\)`.*/\1/p')
[ -n "$name" ] || fail "no metric row in README.md's '## Metrics'"
grep -vxF -- "$row" README.md >"$TMP/no-row.md"
metrics_fails "$name (.*) has no row" "$TMP/no-row.md"
sed "s/^| \`$name\` |/| \`$name\`, \`hostlat.no.such.metric\` |/" README.md >"$TMP/extra.md"
metrics_fails "hostlat.no.such.metric is in the metrics table, but no code defines it" "$TMP/extra.md"
awk '/^## / {s = $0 == "## Metrics"} !(s && /^\|/)' README.md >"$TMP/no-table.md"
metrics_fails "no metric name found in the table" "$TMP/no-table.md"
mkdir "$TMP/no-code"
metrics_fails "no metric name found in the C sources" README.md "$TMP/no-code"
ok "readme-metrics.sh fails on a missing row, an extra row, no table and no code"
