#!/usr/bin/env bash
# otlp_http and a receiver that goes down (its port closed) for a few
# intervals while traffic flows, then comes back: the batches queued
# meanwhile are retried and delivered, each exactly once and in order, so
# the receiver ends up with every batch the stdout JSON exporter wrote; with
# cumulative temporality the last request's hostlat.probe.events and
# hostlat.stack.latency counts equal the agent's final stdout JSON counts.
source "$(dirname "$0")/40-otlp-common.sh"

start_receiver
start_traffic_server 1
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:$RCV_PORT
    temporality: cumulative
    retry: { initial: 200ms, max: 400ms, max_elapsed: 1m }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
wait_for 10 requests_at_least 1 || fail "no request reached the receiver"
traffic 10
receiver_mode '{"mode": "down"}'
before=$(n_requests)
traffic 25
sleep 3
[ "$(n_requests)" -eq "$before" ] || fail "requests arrived while the receiver was down"
receiver_mode '{"mode": "ok"}'
traffic 15
sleep 2.5
stop_agent
grep "exporter" "$TMP/agent.err" || true

TMP=$TMP "$PY" - "$RCV_LOG" "$TMP/metrics.jsonl" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import valid_requests, batch_time, by_stage, stdout_lines, stdout_points, stdout_time

reqs = valid_requests(sys.argv[1])
times = [batch_time(r) for r in reqs]
if times != sorted(set(times)):
    sys.exit("batches delivered twice or out of order")
lines = stdout_lines(sys.argv[2])
want = [stdout_time(l) for l in lines]
print("receiver: %d batches; stdout exporter: %d" % (len(times), len(want)))
if times != want:
    sys.exit("batches lost: %s" % sorted(set(want) - set(times)))
last = max(reqs, key=batch_time)
final = lines[-1]
for name, field in (("hostlat.probe.events", "asInt"), ("hostlat.stack.latency", "count")):
    got, exp = by_stage(last, name, field), stdout_points(final, name, field)
    print("%s: receiver %s, stdout %s" % (name, got, exp))
    if got != exp:
        sys.exit("%s differs" % name)
if by_stage(last, "hostlat.stack.latency", "count").get("tcp-socket-read") != 50:
    sys.exit("tcp-socket-read: not the 50 reads of the traffic")
PY
ok "receiver down then back: every batch delivered, final counts match"
