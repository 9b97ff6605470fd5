#!/usr/bin/env bash
# The shutdown deadline against an exporter module that never returns
# (build/tests/block.so, tests/plugins/block.c): with interval 1s and
# agent.shutdown_timeout 3s, SIGTERM while its export_batch sleeps forever
# exits 0 within 3 s + 4 s (before: never): the exporter's thread is
# abandoned at the deadline, the batches it held are counted as dropped,
# and the module stays loaded. Then a module whose export_batch returns
# but whose shutdown blocks: bounded the same way, every batch sent. The
# stdout exporter next to it is unaffected: every collection, the final
# one included, is in its file. Nothing is lost uncounted.
source "$(dirname "$0")/85-fault-common.sh"
BLOCK_SO=$PWD/$BUILD/tests/block.so
[ -r "$BLOCK_SO" ] || fail "$BLOCK_SO is not built (make unit)"

for phase in export shutdown; do
	out=$TMP/metrics-$phase.jsonl
	calls=$TMP/calls-$phase
	if [ $phase = export ]; then
		conf="{ calls_file: $calls }"
	else
		conf="{ calls_file: $calls, block_after: 1000000, block_shutdown: true }"
	fi
	cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, shutdown_timeout: 3s, log_level: info }
exporters:
  - { type: plugin, name: blk, path: $BLOCK_SO, config: $conf }
  - { type: stdout, name: out, format: json, output: $out }
YAML
	only_probes "$TMP/hostlat.yaml" softirq
	start_agent "$TMP/hostlat.yaml"
	wait_for 20 test -s "$calls" || fail "$phase: the module got no batch"
	wait_for 20 lines_at_least "$out" 3 || fail "$phase: the stdout exporter got no batches"
	stop_timed
	exit_bounded 7
	grep -q "exporter: blk: did not stop in time" "$TMP/agent.err" ||
		{ cat "$TMP/agent.err" >&2; fail "$phase: the blocked exporter was not abandoned"; }
	grep -q "agent: exiting with 1 exporter thread(s) abandoned" "$TMP/agent.err" ||
		fail "$phase: the exit does not say a thread was abandoned"
	accounted out "$(lines "$out")" "$(lines "$out")"
	if [ $phase = export ]; then
		[ "$(lines "$calls")" -eq 1 ] || fail "export: $(lines "$calls") calls, want the one that blocks"
		accounted blk "$(lines "$out")" 0
	else
		accounted blk "$(lines "$out")" "$(lines "$out")"
	fi
	ok "$phase blocks: exit 0 ${STOP_SECS}s after SIGTERM, every batch accounted for"
done
