#!/usr/bin/env bash
# What exemplars cost in the kernel: the stack_latency and runqueue programs
# with `exemplars: true` next to the same with `exemplars: false`, under the
# workload of kernel-cost.sh (iperf3 2 streams, sockperf TCP and UDP
# ping-pong between two namespaces), alternated ON OFF ON OFF ... (ROUNDS
# rounds). Per program: run_time_ns / run_cnt over the workload only
# (kernel.bpf_stats_enabled=1), the total over the rounds.
#
# Env: ROUNDS (3), BENCH_QUICK=1 (1 round, shorter workload).
source "$(dirname "$0")/lib.sh"
bench_need iperf3 sockperf bpftool
ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
T_STREAM=$(bench_secs 3 1)
T_PP=$(bench_secs 2 1)

bpf_stats_on
netns_pair cli srv
bench_servers

for s in on off; do
	cat >"$TMP/$s.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency: { exemplars: $([ $s = on ] && echo true || echo false), filters: { network_namespace: host } }
  runqueue: { exemplars: $([ $s = on ] && echo true || echo false) }
exporters:
  - { type: stdout, format: json, output: $TMP/$s.jsonl }
YAML
	only_probes "$TMP/$s.yaml" stack_latency runqueue
done

workload() {
	ip netns exec "$NS_A" iperf3 -c 198.18.0.2 -p 5201 -t "$T_STREAM" -P 2 >"$TMP/iperf3.log" 2>&1 ||
		fail "iperf3 failed: $(tail -n 3 "$TMP/iperf3.log")"
	ip netns exec "$NS_A" sockperf ping-pong --tcp -i 198.18.0.2 -p 11111 -t "$T_PP" >"$TMP/pp-tcp.log" 2>&1 ||
		fail "sockperf TCP failed"
	ip netns exec "$NS_A" sockperf ping-pong -i 198.18.0.2 -p 11112 -t "$T_PP" >"$TMP/pp-udp.log" 2>&1 ||
		fail "sockperf UDP failed"
}

for r in $(seq 1 "$ROUNDS"); do
	for s in on off; do
		start_setup $s
		progstats "$TMP/$s.$r.before" "$SETUP_PID"
		workload
		progstats "$TMP/$s.$r.after" "$SETUP_PID"
		stop_setup
		echo "round $r: exemplars $s done"
	done
done

bench_py - "$TMP" "$ROUNDS" <<'PY'
import json, sys

tmp, rounds = sys.argv[1], int(sys.argv[2])
tot = {}
for s in ("on", "off"):
    for r in range(1, rounds + 1):
        b = json.load(open("%s/%s.%d.before" % (tmp, s, r)))
        a = json.load(open("%s/%s.%d.after" % (tmp, s, r)))
        for pid, p in a.items():
            q = b.get(pid, {"run_time_ns": 0, "run_cnt": 0})
            t = tot.setdefault(p["name"], {}).setdefault(s, [0, 0])
            t[0] += p["run_time_ns"] - q["run_time_ns"]
            t[1] += p["run_cnt"] - q["run_cnt"]
print("%-24s %12s %10s %12s %10s %8s" % ("program", "runs on", "ns on", "runs off", "ns off", "diff"))
for name in sorted(tot):
    on, off = tot[name].get("on", [0, 0]), tot[name].get("off", [0, 0])
    if not on[1] or not off[1]:
        continue
    n_on, n_off = on[0] / on[1], off[0] / off[1]
    print("%-24s %12d %10.1f %12d %10.1f %+7.1f%%" % (name, on[1], n_on, off[1], n_off, 100 * (n_on - n_off) / n_off))
PY
