#!/usr/bin/env bash
# Traffic sampling, TCP retransmissions: a TCP stream from A to B while, for
# 300 ms, a tc filter on B's ingress drops everything. The agent samples A's
# interface: the retransmitted segments it counts on egress during the run are
# the kernel's own count (TcpRetransSegs of A's namespace), and the exported
# counter agrees with the stored runs.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs
command -v clang >/dev/null || skip "clang is needed to build the drop filter"
command -v nstat >/dev/null || skip "nstat (iproute2) is missing"

netns_pair snd rcv
static_neighbours
clang -O2 -target bpf -c tests/tools/tc_drop.bpf.c -o "$TMP/drop.o" || fail "cannot build the drop filter"
ip netns exec "$NS_B" tc qdisc add dev "$VETH_B" clsact

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$VETH_A]
    granularities: [1ms]
    samples: 4000
    every: 1s
    align: start # the first run starts with the agent: the traffic sent right after is in it
    store: { dir: $TMP/store }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_traffic "$TMP/hostlat.yaml"
start_listener tcpsink ip netns exec "$NS_B" "$PY" tests/tools/traffic_gen.py tcpsink 5001
start_agent_in "$NS_A" "$TMP/hostlat.yaml"

ip netns exec "$NS_A" nstat -n # reset nstat's history: the next call prints deltas
ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py tcp 198.18.0.2 5001 2.0 &
SENDER=$!
on_exit "kill $SENDER"
sleep 0.5
ip netns exec "$NS_B" tc filter add dev "$VETH_B" ingress prio 1 handle 1 bpf da obj "$TMP/drop.o" sec tc
sleep 0.3
ip netns exec "$NS_B" tc filter del dev "$VETH_B" ingress prio 1 handle 1 bpf
wait $SENDER || fail "TCP sender failed"
kernel=$(ip netns exec "$NS_A" nstat -a TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }')
echo "kernel: TcpRetransSegs $kernel"
wait_runs 1 20
sleep 1.5
stop_agent

"$PY" - "$TMP" "${kernel:-0}" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs
from otlp_check import last_request, points

tmp, kernel = sys.argv[1], int(sys.argv[2])
allruns = runs(tmp + "/store")
first = allruns[0]
got = sum(s["retransmits"] for s in first["tx"])
slots = [i for i, s in enumerate(first["tx"]) if s["retransmits"]]
print("first run: %d retransmitted segments in %d samples (first at %s ms); kernel %d" % (got, len(slots), slots[:1], kernel))
assert kernel > 0, "no retransmission happened"
assert got == kernel, "counted %d retransmits, the kernel %d" % (got, kernel)
req = last_request(tmp + "/metrics.jsonl")
vals = [int(dp["asInt"]) for a, dp in points(req, "hostlat.traffic.retransmits")]
files = sum(s["retransmits"] for r in allruns for s in r["tx"])
print("hostlat.traffic.retransmits:", vals, "stored runs:", files)
assert vals == [files], vals
PY
ok "TCP retransmissions counted"
