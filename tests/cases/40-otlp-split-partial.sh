#!/usr/bin/env bash
# otlp_http with max_request_bytes: 2048: every batch leaves as several
# requests, each valid OTLP on its own (resource, scope, no empty metric)
# and at most 2048 bytes of JSON, together carrying every point of the
# batch exactly once (compared with the stdout JSON exporter's copy). Then
# the receiver answers partialSuccess {rejectedDataPoints: "3"}: a success,
# not retried (still every point exactly once), logged, and counted in
# hostlat.exporter.rejected. Last, every 5th request gets a 503: the batch
# is retried from the request that failed (the ones already accepted are
# not sent again), so still every point arrives exactly once. Each phase
# lasts until the receiver's log shows what it is for (the receiver logs
# the mode it answered each request in), never a fixed time.
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
    name: otlp-small
    endpoint: http://127.0.0.1:$RCV_PORT
    max_request_bytes: 2048
    retry: { initial: 200ms, max: 200ms }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

# answered MODE STATUS: how many requests the receiver answered in MODE with STATUS.
answered() {
	"$PY" - "$RCV_LOG" "$1" "$2" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        n += r.get("mode") == sys.argv[2] and r.get("status") == int(sys.argv[3])
print(n)
PY
}
# logged MODE STATUS N: at least N such requests.
logged() { [ "$(answered "$1" "$2")" -ge "$3" ]; }

start_agent "$TMP/hostlat.yaml"
traffic 20
wait_for 60 logged ok 200 2 || fail "no batch reached the receiver"
receiver_mode '{"mode": "partial", "rejected": "3", "errorMessage": "3 points too old"}'
traffic 20
wait_for 60 logged partial 200 2 || fail "no partial success was answered"
receiver_mode '{"mode": "flaky", "every": 5, "code": 503}'
traffic 20
wait_for 60 logged flaky 503 2 || fail "no request got a 503"
# Back to plain successes until a whole batch more (a batch is at most 10
# requests here) has left: what was being retried is delivered before the stop.
ok_before=$(answered ok 200)
receiver_mode '{"mode": "ok"}'
wait_for 60 logged ok 200 $((ok_before + 11)) || fail "no batch after the flaky phase"
stop_agent
grep "exporter" "$TMP/agent.err" || true
grep -q "larger than max_request_bytes" "$TMP/agent.err" && fail "points were dropped as too large"
grep -q "otlp-small: the receiver rejected data points: partial success: 3 points rejected: 3 points too old" \
	"$TMP/agent.err" || fail "the partial success is not logged"

TMP=$TMP "$PY" - "$RCV_LOG" "$TMP/metrics.jsonl" <<'PY'
import collections, os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import requests, batch_time, stdout_lines, stdout_time

reqs = requests(sys.argv[1])
bad = [(r["seq"], r["errors"][:2]) for r in reqs if not r["valid"]]
if bad:
    sys.exit("invalid requests: %s" % bad)
big = [(r["seq"], r["bodyBytes"]) for r in reqs if r["bodyBytes"] > 2048]
if big:
    sys.exit("requests over 2048 bytes of JSON: %s" % big)

def key(p):
    return tuple(sorted(p["attributes"].items()))

got = collections.defaultdict(list)
n_req = collections.Counter()
unavailable = [r for r in reqs if r["status"] == 503]
if len(unavailable) < 2 or any(r["mode"] != "flaky" for r in unavailable):
    sys.exit("503s: %s" % [(r["seq"], r["mode"]) for r in unavailable])
for r in reqs:
    if r["status"] != 200:
        continue
    t = batch_time(r)
    n_req[t] += 1
    for m in r["metrics"]:
        got[t] += [(m["name"], key(p)) for p in m["points"]]
lines = stdout_lines(sys.argv[2])
for l in lines:
    t = stdout_time(l)
    want = []
    for rm in l["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                data = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
                want += [(m["name"], tuple(sorted((a["key"], list(a["value"].values())[0]) for a in dp["attributes"])))
                         for dp in data["dataPoints"]]
    if sorted(got[t]) != sorted(want):
        sys.exit("batch %d: %d points in %d requests, stdout has %d" % (t, len(got[t]), n_req[t], len(want)))
print("%d batches, requests per batch %s, every point exactly once (%d requests refused with 503 and retried)"
      % (len(lines), sorted(n_req.values()), len(unavailable)))
if min(n_req.values()) < 2:
    sys.exit("a batch was not split")
partial = [r for r in reqs if r["mode"] == "partial"]
if not partial or any(r["status"] != 200 for r in partial):
    sys.exit("partial phase: %s" % [r["status"] for r in partial])
rejected = {}
for rm in lines[-1]["resourceMetrics"]:
    for sm in rm["scopeMetrics"]:
        for m in sm["metrics"]:
            if m["name"] == "hostlat.exporter.rejected":
                for dp in m["sum"]["dataPoints"]:
                    rejected[dp["attributes"][0]["value"]["stringValue"]] = int(dp["asInt"])
print("hostlat.exporter.rejected: %s" % rejected)
if rejected.get("otlp-small", 0) < 3 * 2:
    sys.exit("rejected points not counted")
PY
ok "split below max_request_bytes; partial success not retried"
