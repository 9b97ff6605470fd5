#!/usr/bin/env bash
# Traffic sampling, ECN: UDP datagrams sent with CE set (IP_TOS / IPV6_TCLASS
# = 3) over IPv4 and IPv6 count as CE bytes on ingress; ECT(0), ECT(1) and
# not-ECT datagrams sent alongside do not. The stored run holds exactly the CE
# bytes sent, and the exported counter agrees with the stored runs.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs

netns_pair snd rcv
start_sink "$NS_B" 6000
static_neighbours

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 4000
    every: 1s
    align: start # the first run starts with the agent: the traffic sent right after is in it
    store: { dir: $TMP/store }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_traffic "$TMP/hostlat.yaml"
start_agent_in "$NS_B" "$TMP/hostlat.yaml"

# 150 rounds of 6 datagrams of 500 bytes (2 of them CE), one round every 2 ms.
ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py ecn 198.18.0.2 2001:db8::2 6000 150 500 "$TMP/ecn.log" ||
	fail "ECN sender failed"
wait_runs 1 20
sleep 1.5
stop_agent

"$PY" - "$TMP" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs
from otlp_check import last_request, points

tmp = sys.argv[1]
want = int(open(tmp + "/ecn.log").read())
allruns = runs(tmp + "/store")
first = allruns[0]
ce = sum(s["ce_bytes"] for s in first["rx"])
total = sum(s["bytes"] for s in first["rx"])
pk = sum(s["packets"] for s in first["rx"])
print("first run: %d CE bytes (sent %d) of %d bytes, %d packets" % (ce, want, total, pk))
assert ce == want, "CE bytes %d, sent %d" % (ce, want)
assert total >= 3 * want, "the other datagrams are missing: %d bytes" % total
req = last_request(tmp + "/metrics.jsonl")
got = {a["network.interface.name"]: int(dp["asInt"]) for a, dp in points(req, "hostlat.traffic.ecn.ce.bytes")}
files = sum(s["ce_bytes"] for r in allruns for s in r["rx"])
print("hostlat.traffic.ecn.ce.bytes:", got, "stored runs:", files)
assert list(got.values()) == [files], got
PY
ok "ECN CE bytes counted for IPv4 and IPv6, other codepoints not"
