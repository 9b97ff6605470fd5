#!/usr/bin/env bash
# Traffic sampling, the active-flow sketch: phases of N parallel UDP flows
# (N = 1 .. 400, distinct source ports, each sending every 2 ms) into the
# sampled interface, 10 ms samples. In each phase the per-sample estimate
# is N within the documented error of the 256-bit linear-counting sketch
# (4.5 standard errors, at least 2; exactly 1 for one flow).
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs

netns_pair snd rcv
quiet_link
start_sink "$NS_B" 6000

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$VETH_B]
    granularities: [10ms]
    samples: 1200
    every: 1s
    align: start # the first run starts with the agent: the traffic sent right after is in it
    store: { dir: $TMP/store }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_traffic "$TMP/hostlat.yaml"
start_agent_in "$NS_B" "$TMP/hostlat.yaml"

ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py flows 198.18.0.2 6000 1.0 "$TMP/flows.log" \
	1 5 12 50 200 400 || fail "flow sender failed"
wait_runs 1 20
sleep 1.5
stop_agent

"$PY" - "$TMP" <<'PY'
import math, statistics, sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs, flow_sigma
from otlp_check import last_request, points

tmp = sys.argv[1]
run = runs(tmp + "/store")[0]
G, start = run["gran_ns"], run["start"]
rx = run["rx"]
for s in rx:
    assert (s["flows"] == 0) == (s["bytes"] == 0), "flows without bytes or bytes without flows: %s" % s
for line in open(tmp + "/flows.log"):
    n, t0, t1 = map(int, line.split())
    a, z = (t0 - start) // G + 3, (t1 - start) // G - 3
    assert 0 <= a < z <= run["n"], "phase %d outside the run" % n
    est = [s["flows"] for s in rx[a:z]]
    med = statistics.median(est)
    tol = 1 if n == 1 else max(2, math.ceil(4.5 * flow_sigma(n)))
    print("%3d flows: median estimate %g over %d samples (min %d, max %d), allowed +-%d" % (n, med, len(est), min(est), max(est), tol))
    assert abs(med - n) <= tol, "%d flows estimated as %g" % (n, med)
req = last_request(tmp + "/metrics.jsonl")
for a, dp in points(req, "hostlat.traffic.flows"):
    if a["network.io.direction"] == "receive":
        print("hostlat.traffic.flows receive: count %s max %s" % (dp["count"], dp.get("max")))
        assert int(dp["count"]) >= run["n"] and dp.get("max", 0) >= 200
PY
ok "flow estimates within the documented error"
