#!/usr/bin/env bash
# otlp_http against a receiver that misbehaves in every way the 40-otlp-*
# tests do not cover, one phase after the other in one run (interval 1 s,
# cumulative, queue_size 4, max_response_bytes 64 KiB), with traffic:
#   down at start (8 s: more batches than the queue holds), slow answers
#   (1.5 s for a 1 s interval), 500, 503 without Retry-After, 413, 200 with a
#   garbage body, 400 with a binary body, 200 with a 48 MB body, connection
#   resets, then healthy again.
# Checks: collection stays on schedule throughout (the stdout exporter gets
# a batch every second); failures are logged without flooding (rate-limited);
# 500, 413 and 400 are not retried; 503
# and resets are retried; garbage and huge bodies crash nothing and the
# huge one is not read beyond 64 KiB (RSS stays within 24 MB of the healthy
# level); batches arrive at most once and in order, and every batch that
# never arrived is counted in hostlat.exporter.dropped (queue overflow while
# down, refusals); the last request's cumulative counts equal the agent's
# final kernel counts (stdout) and the traffic's reads.
source "$(dirname "$0")/40-otlp-common.sh"
# Memory is measured: keep ASan's quarantine of freed blocks small.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4"

start_receiver --mode down
start_traffic_server 1
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - type: otlp_http
    name: otlp
    endpoint: http://127.0.0.1:$RCV_PORT
    temporality: cumulative
    queue_size: 4
    timeout: 5s
    max_response_bytes: 65536
    retry: { initial: 200ms, max: 400ms, max_elapsed: 1m }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
rss() { awk '/^VmRSS/ {print $2}' /proc/"$AGENT_PID"/status; }
(while kill -0 "$AGENT_PID" 2>/dev/null; do echo "$(date +%s.%N) $(rss)"; sleep 0.2; done) >"$TMP/rss.log" 2>/dev/null &
on_exit "kill $!"

reads=0
phase() { # NAME SECONDS MODE-JSON: set the mode, send traffic, wait
	echo "$(date +%s.%N) $1" >>"$TMP/phases.log"
	receiver_mode "$3"
	traffic 5
	reads=$((reads + 5))
	sleep "$2"
}
sleep 8 # down at start
phase ok 2 '{"mode": "ok"}'
base_rss=$(rss)
phase slow 4 '{"mode": "slow", "delayMs": 1500}'
phase s500 2 '{"mode": "status", "code": 500, "message": "internal failure"}'
phase s503 3 '{"mode": "status", "code": 503}'
phase s413 2 '{"mode": "status", "code": 413, "message": "request entity too large"}'
phase garbage200 2 '{"mode": "raw", "code": 200, "body": "<html>\u0000\u00ff not json {{{"}'
phase garbage400 2 '{"mode": "raw", "code": 400, "body": "\u0001\u0002\u00fe\u00ff binary \u0000 garbage"}'
phase huge 3 '{"mode": "raw", "code": 200, "body": "{\"partialSuccess\": {}}", "bytes": 48000000}'
phase reset 3 '{"mode": "reset"}'
phase ok 3 '{"mode": "ok"}'
stop_agent
grep "exporter" "$TMP/agent.err" | sort | uniq -c | sort -rn | head -20 || true

# Failures are logged, rate-limited (one line per 30 s and exporter): no flood.
n_warn=$(grep -c "warn: exporter: otlp:" "$TMP/agent.err" || true)
[ "$n_warn" -ge 1 ] && [ "$n_warn" -le 3 ] || fail "$n_warn exporter warnings in 37 s"

TMP=$TMP "$PY" - "$RCV_LOG" "$TMP/metrics.jsonl" "$TMP/phases.log" "$TMP/rss.log" "$base_rss" "$reads" <<'PY'
import collections, os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import valid_requests, batch_time, by_stage, stdout_lines, stdout_points, stdout_time

reqs = valid_requests(sys.argv[1])
lines = stdout_lines(sys.argv[2])
phases = [l.split() for l in open(sys.argv[3])]
rss = [tuple(map(float, l.split())) for l in open(sys.argv[4]) if len(l.split()) == 2]
base_rss, reads = int(sys.argv[5]), int(sys.argv[6])


def phase_of(t_ms):
    name = "down"
    for ts, n in phases:
        if float(ts) * 1000 <= t_ms:
            name = n
    return name


by_phase = collections.defaultdict(list)
for r in reqs:
    by_phase[phase_of(r["time"])].append(r)
for name in ("slow", "s500", "s503", "s413", "garbage200", "garbage400", "huge", "reset"):
    print("%-10s %s" % (name, collections.Counter(str(r["status"]) for r in by_phase[name]).most_common()))
    if not by_phase[name]:
        sys.exit("no request during %s" % name)

# Collection on schedule: a stdout batch every second, whatever the receiver did.
ts = [stdout_time(l) / 1e9 for l in lines]
steps = [b - a for a, b in zip(ts, ts[1:])]
print("stdout: %d batches, steps %.3f..%.3f s" % (len(lines), min(steps), max(steps)))
if max(steps[:-1]) > 1.3:
    sys.exit("collection fell behind: a %.3f s step" % max(steps[:-1]))

# Refused batches are not retried; retried ones (503, reset) are.
for code in (500, 413, 400):
    refused = [batch_time(r) for r in reqs if r["status"] == code]
    if not refused or len(refused) != len(set(refused)):
        sys.exit("HTTP %d: %d requests, %d batches (retried?)" % (code, len(refused), len(set(refused))))
for st in (503, "reset"):
    tries = collections.Counter(batch_time(r) for r in reqs if r["status"] == st)
    if not tries or max(tries.values()) < 2:
        sys.exit("%s: not retried: %s" % (st, tries))

# At most once, in order; every batch never accepted is counted as dropped.
accepted = [batch_time(r) for r in reqs if r["status"] == 200]
if accepted != sorted(set(accepted)):
    sys.exit("batches accepted twice or out of order")
want = [stdout_time(l) for l in lines]
missing = sorted(set(want) - set(accepted))
dropped = None
for rm in lines[-1]["resourceMetrics"]:
    for sm in rm["scopeMetrics"]:
        for m in sm["metrics"]:
            if m["name"] == "hostlat.exporter.dropped":
                for dp in m["sum"]["dataPoints"]:
                    if dp["attributes"][0]["value"]["stringValue"] == "otlp":
                        dropped = int(dp["asInt"])
print("%d batches collected, %d accepted, %d never accepted, hostlat.exporter.dropped %s"
      % (len(want), len(set(accepted)), len(missing), dropped))
# The final batch is collected after the last export's statistics were read.
if dropped is None or not (len(missing) - 1 <= dropped <= len(missing)):
    sys.exit("losses not accounted for: %d missing, dropped %s" % (len(missing), dropped))
start = float(phases[0][0]) * 1e9
lost_down = [t for t in missing if t < start]
if not 1 <= len(lost_down) <= 6:
    sys.exit("down at start (8 batches, queue 4): %d dropped" % len(lost_down))

# Cumulative counts: the last request equals the agent's final kernel counts.
last = max((r for r in reqs if r["status"] == 200), key=batch_time)
if batch_time(last) != want[-1]:
    sys.exit("the final batch did not arrive")
for name, field in (("hostlat.probe.events", "asInt"), ("hostlat.stack.latency", "count")):
    got, exp = by_stage(last, name, field), stdout_points(lines[-1], name, field)
    if got != exp:
        sys.exit("%s: receiver %s, kernel %s" % (name, got, exp))
if by_stage(last, "hostlat.stack.latency", "count").get("tcp-socket-read") != reads:
    sys.exit("tcp-socket-read: not the %d reads" % reads)
print("final counts equal the kernel's: %s" % by_stage(last, "hostlat.stack.latency", "count"))

# Memory: bounded through the huge bodies and the rest.
t_huge = [float(t) for t, n in phases if n == "huge"][0]
peak = max(v for t, v in rss if t >= t_huge - 1)
print("RSS: %d KiB when healthy, peak %d KiB from the huge bodies on" % (base_rss, peak))
if peak - base_rss > 24 * 1024:
    sys.exit("RSS grew by %d KiB" % (peak - base_rss))
PY
ok "receiver faults: on schedule, refusals not retried, losses counted, final counts exact, memory bounded"
