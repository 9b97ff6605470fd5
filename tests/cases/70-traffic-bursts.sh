#!/usr/bin/env bash
# Traffic sampling, controlled bursts: each side of a veth pair sends bursts of
# B bytes within well under 1 ms, every ~100 ms (the phase drifting against the slots). The agent samples the
# receiver's interface (ingress: A->B, egress: B->A) in 1 ms slots. Every burst
# that falls within one slot shows there within 10 % of B (exactly B here: no
# other traffic), one that crosses a slot boundary adds up to B over the two,
# the peak is B, each second's total is what was sent in that
# second, and the exported metrics agree with the stored runs.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs

netns_pair snd rcv
quiet_link
start_sink "$NS_B" 6000
start_sink "$NS_A" 6001

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 5000
    every: 1s
    align: start # the first run starts with the agent: the traffic sent right after is in it
    burst_threshold: 4
    store: { dir: $TMP/store }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: stdout, format: pretty, output: $TMP/pretty.txt }
YAML
only_traffic "$TMP/hostlat.yaml"
start_agent_in "$NS_B" "$TMP/hostlat.yaml"
grep "traffic:" "$TMP/agent.err"

# 25 bursts of 40 x 1400-byte datagrams each way: 57680 bytes on the wire per burst.
ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py bursts 198.18.0.2 6000 25 40 1400 100.37 "$TMP/rx.log" &
A=$!
on_exit "kill $A"
ip netns exec "$NS_B" "$PY" tests/tools/traffic_gen.py bursts 198.18.0.1 6001 25 40 1400 100.29 "$TMP/tx.log" &
B=$!
on_exit "kill $B"
wait $A || fail "sender A failed"
wait $B || fail "sender B failed"
wait_runs 1 20
sleep 1.5 # one more export after the run
stop_agent

"$PY" - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs, is_burst
from otlp_check import last_request, points

tmp = sys.argv[1]
allruns = runs(tmp + "/store")
run = allruns[0]
G, start, n = run["gran_ns"], run["start"], run["n"]
end = start + n * G
print("run: %d samples of %d ns from %d; link %d bit/s" % (n, G, start, run["link_bps"]))
assert G == 1000000 and n == 5000, run
assert run["link_bps"] == 10**10, "veth reports 10000 Mbit/s"
for d, log in (("rx", "rx.log"), ("tx", "tx.log")):
    bursts = [tuple(map(int, l.split())) for l in open(tmp + "/" + log)]
    B = bursts[0][2]
    series = [s["bytes"] for s in run[d]]
    inside = [b for b in bursts if start <= b[0] and b[1] + 300000 < end]
    assert len(inside) == len(bursts), "%s: bursts outside the first run" % d
    single = 0
    for t0, t1, l2 in inside:
        a, z = (t0 - start) // G, (t1 + 200000 - start) // G
        got = sum(series[a:z + 1])
        assert abs(got - l2) <= l2 // 10, "%s: burst at slot %d..%d: %d bytes, sent %d" % (d, a, z, got, l2)
        # one slot holds the whole burst unless it crossed a slot boundary
        if abs(max(series[a:z + 1]) - l2) <= l2 // 10:
            single += 1
    peak = max(series)
    print("%s: %d bursts of %d bytes, %d within one slot; peak %d; total %d" % (d, len(inside), B, single, peak, sum(series)))
    assert single >= len(inside) // 4, "%s: only %d of %d bursts in one slot" % (d, single, len(inside))
    assert abs(peak - B) <= B // 10, "%s: peak %d, burst %d" % (d, peak, B)
    # each whole second: what was sent in it, exactly
    checked = 0
    for k in range(n * G // 10**9):
        ws, we = start + k * 10**9, start + (k + 1) * 10**9
        if any(t0 < we and t1 + 300000 > ws and not (ws + 200000 <= t0 and t1 + 300000 <= we) for t0, t1, _ in inside):
            continue  # a burst too close to the edge of the second
        want = sum(l2 for t0, t1, l2 in inside if ws <= t0 < we)
        got = sum(series[k * 1000:(k + 1) * 1000])
        print("%s: second %d: %d bytes sampled, %d sent" % (d, k, got, want))
        assert got == want, "%s: second %d: %d bytes, sent %d" % (d, k, got, want)
        checked += want > 0
    assert checked >= 2, "%s: only %d whole seconds to compare" % (d, checked)

# The metrics: every stored run folded in, bursts counted as in the files.
req = last_request(tmp + "/metrics.jsonl")
for a, dp in points(req, "hostlat.traffic.sample.bytes"):
    d = "rx" if a["network.io.direction"] == "receive" else "tx"
    assert a["hostlat.granularity"] == "1ms" and "network.interface.name" in a, a
    want_n = sum(r["n"] for r in allruns)
    want_sum = sum(s["bytes"] for r in allruns for s in r[d])
    print("sample.bytes %s: count %s sum %s (files: %d, %d) max %s" % (d, dp["count"], dp["sum"], want_n, want_sum, dp.get("max")))
    assert int(dp["count"]) == want_n and int(dp["sum"]) == want_sum, dp
bursts = {a["network.io.direction"]: int(dp["asInt"]) for a, dp in points(req, "hostlat.traffic.bursts")}
for d, name in (("rx", "receive"), ("tx", "transmit")):
    want = sum(1 for r in allruns for s in r[d] if is_burst(r, s["bytes"]))
    print("bursts %s: %s (files: %d)" % (name, bursts.get(name), want))
    assert bursts.get(name) == want and want > 0
peaks = {a["network.io.direction"]: float(dp["asDouble"]) for a, dp in points(req, "hostlat.traffic.peak.rate")}
for d, name in (("rx", "receive"), ("tx", "transmit")):
    cands = [max(s["bytes"] for s in r[d]) * 1e9 / r["gran_ns"] for r in allruns]
    assert any(abs(peaks[name] - c) < 1 for c in cands), (peaks, cands)
PY
# The pretty screen: a run is one line per interface and granularity, with
# its bursts in both directions, and no traffic histogram is printed.
grep -E "^traffic $VETH_B 1ms: [0-9]+ samples; receive peak [0-9.]+[kMG]?B/s, [1-9][0-9]* bursts?, .*; transmit peak .*[1-9][0-9]* bursts?," \
	"$TMP/pretty.txt" | head -n 2 | grep . || { cat "$TMP/pretty.txt"; fail "pretty: no one-line traffic run with bursts"; }
! grep -q '^hostlat.traffic.sample.bytes' "$TMP/pretty.txt" || fail "pretty: traffic histograms printed"
ok "bursts sampled in 1 ms slots, both directions"
