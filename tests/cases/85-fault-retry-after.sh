#!/usr/bin/env bash
# A receiver that answers 429 with a Retry-After far beyond the batch's
# retry time (retry.max_elapsed: 2s): Retry-After: 999999999, then an HTTP
# date in the year 9999. The batch is dropped, and the exporter then sends
# nothing until the Retry-After ends (capped at 1 h): the receiver sees
# exactly one request over the following intervals (before: one request
# every interval), and hostlat.exporter.throttled{exporter=otlp} is 1 in
# the exported self-metrics (stdout exporter). Batches wait in the queue
# meanwhile (queue_size 4: the overflow is counted as dropped); SIGTERM
# exits 0 within agent.shutdown_timeout (3s) + 4 s, and every batch the
# exporter got is accounted for (all dropped, none sent).
source "$(dirname "$0")/85-fault-common.sh"

# self_metric FILE NAME EXPORTER: the metric's value in FILE's last batch ("" if absent).
self_metric() {
	tail -n 1 "$1" | "$PY" -c '
import json, sys
rm = json.loads(sys.stdin.read())["resourceMetrics"][0]
for sm in rm["scopeMetrics"]:
    for m in sm["metrics"]:
        if m["name"] == sys.argv[1]:
            for dp in m["sum"]["dataPoints"]:
                if dp["attributes"][0]["value"]["stringValue"] == sys.argv[2]:
                    print(dp["asInt"])' "$2" "$3"
}
throttled_is() { [ "$(self_metric "$1" hostlat.exporter.throttled otlp)" = "$2" ]; }

n=0
for value in "999999999" "Fri, 31 Dec 9999 23:59:59 GMT"; do
	n=$((n + 1))
	start_hostile retry-after --retry-after "$value"
	out=$TMP/metrics-$n.jsonl
	cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, shutdown_timeout: 3s, log_level: info }
exporters:
  - type: otlp_http
    name: otlp
    endpoint: http://127.0.0.1:$RCV_PORT
    compression: none
    queue_size: 4
    retry: { initial: 100ms, max: 200ms, max_elapsed: 2s }
  - { type: stdout, name: out, format: json, output: $out }
YAML
	only_probes "$TMP/hostlat.yaml" softirq
	start_agent "$TMP/hostlat.yaml"
	wait_for 20 test -s "$RCV_LOG" || fail "Retry-After: $value: no request"
	wait_for 20 throttled_is "$out" 1 ||
		{ cat "$TMP/agent.err" >&2; fail "Retry-After: $value: hostlat.exporter.throttled is not 1"; }
	seen=$(lines "$out")
	wait_for 20 lines_at_least "$out" $((seen + 6)) || fail "Retry-After: $value: collection stopped"
	reqs=$(lines "$RCV_LOG")
	echo "Retry-After: $value: $reqs request(s) in $(lines "$out") intervals"
	[ "$reqs" -eq 1 ] || { cat "$RCV_LOG" >&2; fail "Retry-After: $value: $reqs requests, want 1"; }
	throttled_is "$out" 1 || fail "Retry-After: $value: throttled changed"
	grep -q "exporter: otlp: Retry-After beyond the batch's retry time: batch dropped, nothing sent for 1h: HTTP 429" \
		"$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "Retry-After: $value: the hold-off is not logged"; }
	stop_timed
	exit_bounded 7
	[ "$(lines "$RCV_LOG")" -eq 1 ] || fail "Retry-After: $value: a request during the stop"
	accounted out "$(lines "$out")" "$(lines "$out")"
	accounted otlp "$(lines "$out")" 0
	kill "$RCV_PID"
	ok "Retry-After: $value: held off (1 request, throttled 1), exit ${STOP_SECS}s, batches accounted for"
done
