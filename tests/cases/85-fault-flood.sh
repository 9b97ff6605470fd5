#!/usr/bin/env bash
# Load: a UDP flood of 64-byte datagrams across a veth pair (one sender
# process per CPU, as fast as they go; the receiving socket is never read,
# so most packets are also dropped at its full queue) for FLOOD_SECS (20) s,
# with every probe on and traffic sampled on the flooded interface. The
# agent must keep exporting every interval (1 s: no gap over 1.5 s) and its
# own CPU time (all threads, user + system) stay under 25 % of one CPU; its
# counters must have seen the flood.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

secs=${FLOOD_SECS:-20}
netns_pair snd rcv
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency: { filters: { network_namespace: host } }
  traffic:
    interfaces: [$VETH_B]
    granularities: [100us, 1ms]
    every: 1s
    link_speed: 10000
    store: { dir: $TMP/store }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
# A socket that never reads: its queue fills, the rest is dropped.
start_listener sink ip netns exec "$NS_B" "$PY" -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.18.0.2", 7000)); print("listening", flush=True); time.sleep(3600)'

AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"
sleep 2
cpu() { awk '{print $14 + $15}' /proc/"$AGENT_PID"/stat; }
c0=$(cpu)
t0=$(date +%s.%N)
sent=$(ip netns exec "$NS_A" "$PY" tests/tools/flood.py 198.18.0.2 7000 "$secs")
t1=$(date +%s.%N)
c1=$(cpu)
sleep 1.5
stop_agent
tck=$(getconf CLK_TCK)
"$PY" - "$TMP/metrics.jsonl" "$t0" "$t1" "$c0" "$c1" "$tck" "$sent" <<'PY'
import json, sys
path, t0, t1, c0, c1, tck, sent = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
wall = t1 - t0
cpu = (c1 - c0) / tck
print("flood: %d datagrams in %.1f s (%.0f kpkt/s); agent CPU %.2f s = %.1f %% of one CPU"
      % (sent, wall, sent / wall / 1e3, cpu, 100 * cpu / wall))
lines = [json.loads(l) for l in open(path) if l.strip()]


def when(l):
    for rm in l["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                d = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
                return int(d["dataPoints"][0]["timeUnixNano"]) / 1e9


def total(l, name):
    n = 0
    for rm in l["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                if m["name"] == name:
                    for dp in m["sum"]["dataPoints"]:
                        n += int(dp["asInt"])
    return n


ts = [when(l) for l in lines]
during = [t for t in ts if t0 <= t <= t1 + 1]
steps = [b - a for a, b in zip(during, during[1:])]
print("batches during the flood: %d, largest gap %.3f s" % (len(during), max(steps)))
if len(during) < wall - 1 or max(steps) > 1.5:
    sys.exit("the agent did not export every interval during the flood")
polls = total(lines[-1], "hostlat.napi.packets")
drops = total(lines[-1], "hostlat.skb.drops")
print("hostlat.napi.packets %d, hostlat.skb.drops %d" % (polls, drops))
if polls < sent / 2:
    sys.exit("the agent's counters missed the flood")
if 100 * cpu / wall > 25:
    sys.exit("agent CPU over 25 %% of one CPU during the flood")
PY
ok "flood: exports every interval, agent CPU bounded"
