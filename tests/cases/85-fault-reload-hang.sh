#!/usr/bin/env bash
# SIGHUP that changes the exporter list while the running exporters are
# stuck: otlp_http inside a request to a receiver that never answers
# (timeout: 30s) and a module whose export_batch never returns
# (build/tests/block.so). The event loop never waits for them (before, the
# reload blocked it: collection stopped, /healthz turned 503, the next
# SIGTERM took 136 s): the reload is applied at once, the new stdout
# exporter gets a batch every interval with no gap across the reload, and
# /healthz answers 200 throughout. The replaced otlp_http stops on its own
# thread (its request cancelled after its 1 s drain) and is freed; the
# replaced module, still blocked, is abandoned at the exit. SIGTERM then
# exits 0 within agent.shutdown_timeout (3s) + 4 s, the new otlp_http's
# request (to the same receiver) cancelled as well. Every exporter's
# summary accounts for every batch it got.
source "$(dirname "$0")/85-fault-common.sh"
BLOCK_SO=$PWD/$BUILD/tests/block.so
[ -r "$BLOCK_SO" ] || fail "$BLOCK_SO is not built (make unit)"
PORT=$((22000 + HL_ID % 1000))
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT/healthz")" = 200 ]; }

start_hostile hang
cfg=$TMP/hostlat.yaml
write_cfg() { # NAME-SUFFIX [extra exporter item]
	cat >"$cfg" <<YAML
agent: { interval: 1s, shutdown_timeout: 3s, log_level: info, health: { listen: "127.0.0.1:$PORT" } }
exporters:
  - { type: otlp_http, name: otlp-$1, endpoint: "http://127.0.0.1:$RCV_PORT", compression: none, timeout: 30s }
  - { type: stdout, name: out-$1, format: json, output: $TMP/$1.jsonl }
${2:-}
YAML
	only_probes "$cfg" softirq
}
write_cfg a "  - { type: plugin, name: blk, path: $BLOCK_SO, config: { calls_file: $TMP/calls } }"
start_agent "$cfg"
wait_for 20 test -s "$RCV_LOG" || fail "no request reached the receiver"
wait_for 20 test -s "$TMP/calls" || fail "the module got no batch"
wait_for 20 lines_at_least "$TMP/a.jsonl" 2 || fail "no batches before the reload"
healthy || fail "/healthz before the reload"

write_cfg b
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config .* reloaded: exporting every 1s to 2 exporter(s) (restarted)" \
	"$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "the reload was not applied"; }
# Collection goes on while the old exporters are stuck: a batch a second, /healthz 200.
for n in 1 2 3 4 5; do
	wait_for 10 lines_at_least "$TMP/b.jsonl" $n || fail "the new exporter got $((n - 1)) batches"
	healthy || fail "/healthz not 200 after the reload ($n batches)"
done
wait_for 10 grep -q "exporter: otlp-a: stopped: " "$TMP/agent.err" ||
	{ cat "$TMP/agent.err" >&2; fail "the replaced otlp_http did not stop"; }
! grep -q "exporter: blk: \(stopped\|abandoned\)" "$TMP/agent.err" || fail "the blocked module ended?"
healthy || fail "/healthz not 200"
[ "$(lines "$TMP/calls")" -eq 1 ] || fail "the blocked module got $(lines "$TMP/calls") calls"
wait_for 20 test "$(lines "$RCV_LOG")" -ge 2 || fail "the new otlp_http sent nothing"

stop_timed
exit_bounded 7
grep -q "exporter: blk: did not stop in time" "$TMP/agent.err" || fail "the module was not abandoned"
grep -q "agent: exiting with 1 exporter thread(s) abandoned" "$TMP/agent.err" || fail "no abandoned thread at the exit"
grep "SIGHUP\|stopped:\|abandoned" "$TMP/agent.err"

a=$(lines "$TMP/a.jsonl")
b=$(lines "$TMP/b.jsonl")
accounted out-a "$a" "$a"
accounted otlp-a "$a" 0
accounted blk "$a" 0
accounted out-b "$b" "$b"
accounted otlp-b "$b" 0

# No gap in the collection across the reload: every step within 1.5 s.
"$PY" - "$TMP/a.jsonl" "$TMP/b.jsonl" <<'PY'
import json, sys
ts = []
for path in sys.argv[1:]:
    for line in open(path):
        rm = json.loads(line)["resourceMetrics"][0]
        m = rm["scopeMetrics"][0]["metrics"][0]
        data = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
        ts.append(int(data["dataPoints"][0]["timeUnixNano"]) / 1e9)
steps = [round(b - a, 3) for a, b in zip(ts, ts[1:])]
print("%d batches, steps %s s" % (len(ts), steps))
if max(steps[:-1]) > 1.5:
    sys.exit("collection stalled: a %.3f s step" % max(steps[:-1]))
PY
ok "SIGHUP with stuck exporters: applied at once, collection and /healthz unaffected, exit bounded (${STOP_SECS}s)"
