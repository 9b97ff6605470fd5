#!/usr/bin/env bash
# The traffic sampler's cost (issue 4): per-packet cost of its tc programs
# outside a sampling run (they read one word and return) and during one
# (slot update, flow sketch), and the throughput of a veth stream without
# the programs, with them outside a run, and during a run, side by side.
#
# Set-ups, alternated A B C A B C ... (ROUNDS rounds):
#   A none      no program on the interface
#   B idle      hostlat, traffic probe only, one 100 us run at start and the
#               next 24 h later: every packet of the workload is outside a run
#   C sampling  hostlat, one 1 ms x 100000-sample run (100 s) from the start:
#               every packet is inside a run
# Workload per set-up: a TCP stream (iperf3, 1 stream, GSO/GRO: few large
# packets) and a UDP stream of 64-byte datagrams (iperf3 -u -b 0: many small
# packets), both into the namespace where the agent samples the veth.
source "$(dirname "$0")/lib.sh"
bench_need iperf3 bpftool

ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
T=$(bench_secs 4 2)

bpf_stats_on
netns_pair cli srv
bench_servers

config() {
	cat >"$TMP/$1.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  traffic:
    interfaces: [$VETH_B]
    granularities: [$2]
    samples: $3
    every: 24h
    store: { dir: $TMP/traffic, max_bytes: 0 }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
	only_probes "$TMP/$1.yaml" traffic
}
config idle 10us 10
config sampling 1ms 100000

run_setup() {
	local s=$1 r=$2 pid=""
	if [ "$s" != none ]; then
		AGENT_NETNS=$NS_B start_agent "$TMP/$s.yaml"
		pid=$AGENT_PID
		sleep 0.5
		progstats "$TMP/$s.$r.before" "$pid"
	fi
	ip netns exec "$NS_A" iperf3 -J -c 198.18.0.2 -p 5201 -t "$T" >"$TMP/$s.$r.tcp.json" 2>&1 ||
		fail "iperf3 TCP: $(tail -n 3 "$TMP/$s.$r.tcp.json")"
	ip netns exec "$NS_A" iperf3 -J -u -b 0 -l 64 -c 198.18.0.2 -p 5201 -t "$T" >"$TMP/$s.$r.udp.json" 2>&1 ||
		fail "iperf3 UDP: $(tail -n 3 "$TMP/$s.$r.udp.json")"
	if [ -n "$pid" ]; then
		progstats "$TMP/$s.$r.after" "$pid"
		kill -INT "$pid"
		wait "$pid" || true
	fi
}

for r in $(seq 1 "$ROUNDS"); do
	for s in none idle sampling; do
		run_setup $s "$r"
	done
	echo "round $r done"
done

bench_py - "$TMP" "$ROUNDS" <<'PY'
import json, os, sys
import benchlib

tmp, rounds = sys.argv[1], int(sys.argv[2])
setups = ["none", "idle", "sampling"]


def iperf(path, udp):
    with open(path) as f:
        j = json.load(f)
    end = j["end"]
    if udp:
        s = end["sum"]
        secs = s["seconds"]
        return (s["packets"] - s["lost_packets"]) / secs, s["bits_per_second"]
    return None, end["sum_received"]["bits_per_second"]


cost = {s: {} for s in setups[1:]}
tput = {s: {"tcp_bps": [], "udp_pps": []} for s in setups}
for s in setups:
    for r in range(1, rounds + 1):
        tput[s]["tcp_bps"].append(iperf(os.path.join(tmp, "%s.%d.tcp.json" % (s, r)), False)[1])
        tput[s]["udp_pps"].append(iperf(os.path.join(tmp, "%s.%d.udp.json" % (s, r)), True)[0])
        if s == "none":
            continue
        with open(os.path.join(tmp, "%s.%d.before" % (s, r))) as f:
            b = {int(k): v for k, v in json.load(f).items()}
        with open(os.path.join(tmp, "%s.%d.after" % (s, r))) as f:
            a = {int(k): v for k, v in json.load(f).items()}
        for st in benchlib.stats_delta(b, a).values():
            if "ingress" in st["name"] or "egress" in st["name"]:
                c = cost[s].setdefault(st["name"], [0, 0])
                c[0] += st["run_time_ns"]
                c[1] += st["run_cnt"]

print("Per-packet cost of the tc programs (ns per run), %d round(s)" % rounds)
rows, res_cost = [], {}
for name in sorted(set(cost["idle"]) | set(cost["sampling"])):
    i = cost["idle"].get(name, [0, 0])
    s = cost["sampling"].get(name, [0, 0])
    ci = i[0] / i[1] if i[1] else None
    cs = s[0] / s[1] if s[1] else None
    rows.append([name, benchlib.fmt(ci), str(i[1] // rounds), benchlib.fmt(cs), str(s[1] // rounds),
                 benchlib.fmt(benchlib.ratio(cs, ci), "%.2f")])
    res_cost[name] = {"outside_run_ns": ci, "in_run_ns": cs, "packets_outside": i[1] // rounds,
                      "packets_in_run": s[1] // rounds}
benchlib.table(["program", "outside a run", "packets", "during a run", "packets", "ratio"], rows)

print()
print("veth stream throughput, median of %d round(s) (min..max)" % rounds)
rows, res_tput = [], {}
base_tcp = benchlib.median(tput["none"]["tcp_bps"])
base_udp = benchlib.median(tput["none"]["udp_pps"])
for s in setups:
    t, u = tput[s]["tcp_bps"], tput[s]["udp_pps"]
    mt, mu = benchlib.median(t), benchlib.median(u)
    rows.append([s, "%.2f (%.2f..%.2f)" % (mt / 1e9, min(t) / 1e9, max(t) / 1e9), "%.3f" % (mt / base_tcp),
                 "%.0f (%.0f..%.0f)" % (mu / 1e3, min(u) / 1e3, max(u) / 1e3), "%.3f" % (mu / base_udp)])
    res_tput[s] = {"tcp_gbps": mt / 1e9, "tcp_ratio": mt / base_tcp, "udp64_kpps": mu / 1e3,
                   "udp64_ratio": mu / base_udp, "tcp_gbps_rounds": [x / 1e9 for x in t],
                   "udp64_kpps_rounds": [x / 1e3 for x in u]}
benchlib.table(["set-up", "TCP Gbit/s", "vs none", "UDP 64 B kpkt/s", "vs none"], rows)
with open(os.path.join(tmp, "result.json"), "w") as f:
    json.dump({"rounds": rounds, "tc_cost": res_cost, "throughput": res_tput}, f)
PY
bench_record traffic "$TMP/result.json"
