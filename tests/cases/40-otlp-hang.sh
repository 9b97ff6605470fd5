#!/usr/bin/env bash
# otlp_http and a receiver that accepts requests and never answers: each
# attempt ends after the exporter's `timeout: 1s` (and is retried), while
# collection stays on schedule: the agent's other exporter (stdout JSON to
# a file) still gets one batch per 1 s interval. The agent then stops
# promptly (the hung request cannot hold it beyond its timeout).
source "$(dirname "$0")/40-otlp-common.sh"

start_receiver --mode hang
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:$RCV_PORT
    timeout: 1s
    retry: { initial: 200ms, max: 200ms }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
sleep 6.2
t0=$SECONDS
stop_agent
took=$((SECONDS - t0))
grep "exporter" "$TMP/agent.err" || true
echo "stopped in ${took}s"
[ "$took" -le 4 ] || fail "the agent took ${took}s to stop"
grep -q "no response within 1s" "$TMP/agent.err" || fail "the timeout is not logged"

TMP=$TMP "$PY" - "$RCV_LOG" "$TMP/metrics.jsonl" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import valid_requests, batch_time, stdout_lines, stdout_time

reqs = valid_requests(sys.argv[1])
times = [r["time"] / 1000 for r in reqs]
gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
print("%d attempts (all hung), %s s apart" % (len(reqs), gaps))
if len(reqs) < 3 or min(gaps) < 1.0:
    sys.exit("attempts less than the 1 s timeout apart, or too few")
if any(batch_time(r) != batch_time(reqs[0]) for r in reqs):
    sys.exit("the hung batch was not the one retried")
lines = stdout_lines(sys.argv[2])
ts = [stdout_time(l) / 1e9 for l in lines]
steps = [round(b - a, 3) for a, b in zip(ts, ts[1:])]
print("stdout exporter: %d batches, %s s apart" % (len(lines), steps))
if len(lines) < 6:
    sys.exit("the stdout exporter got %d batches in 6 s" % len(lines))
if max(steps[:-1]) > 1.3:
    sys.exit("collection fell behind schedule: a %.3f s step" % max(steps[:-1]))
PY
ok "hung receiver: requests time out after 1 s, collection on schedule"
