#!/usr/bin/env bash
# The shutdown deadline against receivers that hold a request open: with
# interval 1s and agent.shutdown_timeout 3s, SIGTERM while otlp_http waits
# on a receiver that accepts the request and never answers (timeout: 30s),
# then on one that answers one byte a second (timeout: 90s), exits 0
# within 3 s + 4 s (before the deadline existed: 24 s and 81 s, the
# request's own timeout): the request in flight is cancelled at the end of
# the drain. Nothing is lost uncounted: the exporter's summary at the exit
# says it got as many batches as the stdout exporter wrote (every
# collection, the final one included), each one sent or counted as dropped.
source "$(dirname "$0")/85-fault-common.sh"

for phase in "hang 30s" "trickle 90s"; do
	read -r mode timeout <<<"$phase"
	start_hostile "$mode"
	out=$TMP/metrics-$mode.jsonl
	cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, shutdown_timeout: 3s, log_level: info }
exporters:
  - type: otlp_http
    name: otlp
    endpoint: http://127.0.0.1:$RCV_PORT
    compression: none
    timeout: $timeout
  - { type: stdout, name: out, format: json, output: $out }
YAML
	only_probes "$TMP/hostlat.yaml" softirq
	start_agent "$TMP/hostlat.yaml"
	# A request is in flight (the receiver has it) and a few intervals passed.
	wait_for 20 test -s "$RCV_LOG" || fail "$mode: no request reached the receiver"
	wait_for 20 lines_at_least "$out" 3 || fail "$mode: the stdout exporter got no batches"
	stop_timed
	exit_bounded 7
	grep -q "exporter: otlp: .*request cancelled: the exporter is stopping" "$TMP/agent.err" ||
		{ cat "$TMP/agent.err" >&2; fail "$mode: the request in flight was not cancelled"; }
	[ "$(lines "$RCV_LOG")" -eq 1 ] || fail "$mode: $(lines "$RCV_LOG") requests, want the one that hung"
	accounted out "$(lines "$out")" "$(lines "$out")"
	accounted otlp "$(lines "$out")" 0
	kill "$RCV_PID"
	ok "$mode (timeout $timeout): exit 0 ${STOP_SECS}s after SIGTERM, every batch accounted for"
done
