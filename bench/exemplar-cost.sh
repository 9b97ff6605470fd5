#!/usr/bin/env bash
# What exemplars cost in the kernel: the stack_latency and runqueue programs
# with `exemplars: true` next to the same with `exemplars: false`,
# alternated ON OFF ON OFF ... (ROUNDS rounds), under TCP ping-pong between
# two namespaces (tests/tools/tcp_delay.py: two connections at once, 8000
# messages each, which every probe stage sees). Per program: run_time_ns / run_cnt over the workload only
# (kernel.bpf_stats_enabled=1), the total over the rounds.
#
# Env: ROUNDS (3), BENCH_QUICK=1 (1 round, shorter workload).
source "$(dirname "$0")/lib.sh"
bench_need bpftool
ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
N_MSG=$(bench_secs 8000 1000)

bpf_stats_on
netns_pair cli srv
start_listener pp1 ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py servemany 5201 0
start_listener pp2 ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py servemany 5202 0

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
	local a b
	ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 5201 "$N_MSG" &
	a=$!
	ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 5202 "$N_MSG" &
	b=$!
	wait $a || fail "TCP client failed"
	wait $b || fail "TCP client failed"
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
