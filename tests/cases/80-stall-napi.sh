#!/usr/bin/env bash
# probes.napi: the receiving veth gets its own NAPI instance (GRO on, UDP
# GRO forwarding so that plain UDP takes it) polled by a kernel thread
# (threaded NAPI) pinned to the sender's CPU: under a UDP flood its ring
# fills while the thread waits, and polls then use their whole budget.
# The agent, filtered on the receiver's namespace, must count polls,
# packets and budget-exhausted polls for that device by name.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
command -v ethtool >/dev/null || skip "ethtool missing (make test-deps)"
command -v taskset >/dev/null || skip "taskset missing (util-linux)"

netns_pair nsnd nrcv
ip netns exec "$NS_B" ethtool -K "$VETH_B" gro on rx-udp-gro-forwarding on >/dev/null ||
	skip "cannot turn on GRO on the veth"
ip netns exec "$NS_B" sh -c "echo 1 >/sys/class/net/$VETH_B/threaded" || skip "no threaded NAPI"
# The NAPI thread of the device (napi/VETH-ID), pinned to CPU 0 with the sender.
napi_pid=$(ps -e -o pid=,comm= | awk -v d="napi/$VETH_B-" 'index($2, d) == 1 {print $1; exit}')
[ -n "$napi_pid" ] || skip "no NAPI thread for $VETH_B"
taskset -p -c 0 "$napi_pid" >/dev/null

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  napi: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" napi
"$HOSTLAT" --config "$TMP/hostlat.yaml" --check >"$TMP/check.txt" || fail "--check failed"
grep -A1 "probe napi" "$TMP/check.txt"
grep -q "polls *tp_btf/napi_poll" "$TMP/check.txt" || fail "--check does not show the napi hook"
start_agent "$TMP/hostlat.yaml"

start_listener reader ip netns exec "$NS_B" "$PY" tests/tools/stall.py reader 7300 4
READER=$LISTENER_PID
ip netns exec "$NS_A" taskset -c 0 "$PY" tests/tools/stall.py flood 198.18.0.2 7300 2 256 >"$TMP/flood.out"
wait "$READER"
cat "$TMP/flood.out" "$TMP/reader.out"
sleep 1.5
stop_agent

"$PY" - "$TMP/metrics.jsonl" "$VETH_B" "$(awk '/read/ {print $2}' "$TMP/reader.out")" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points

req, dev, read = last_request(sys.argv[1]), sys.argv[2], int(sys.argv[3])
m = {}
for name in ("polls", "packets", "budget_exhausted", "budget", "lost"):
    for a, dp in points(req, "hostlat.napi." + name):
        v = float(dp["asDouble"]) if "asDouble" in dp else int(dp["asInt"])
        m[(name, a.get("network.interface.name", a.get("reason")))] = v
for k in sorted(m):
    print("%-18s %-14s %s" % (k[0], k[1], m[k]))
polls, packets = m.get(("polls", dev), 0), m.get(("packets", dev), 0)
exhausted, budget = m.get(("budget_exhausted", dev), 0), m.get(("budget", dev), 0)
if not polls or packets < read:
    sys.exit("%s: %d polls, %d packets for %d datagrams read" % (dev, polls, packets, read))
if not (0 < budget <= 4096):
    sys.exit("%s: implausible budget %s" % (dev, budget))
if exhausted < 1 or exhausted > polls:
    sys.exit("%s: %d polls used the whole budget of %d" % (dev, exhausted, polls))
if packets > polls * budget:
    sys.exit("%s: more packets than polls x budget" % dev)
if m.get(("lost", "map_full")):
    sys.exit("polls lost")
PY
ok "NAPI polls, packets and budget exhaustion counted per device"
