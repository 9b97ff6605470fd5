#!/usr/bin/env bash
# What each of the stack probe's options costs per sample (issue 14): the
# probe alone, with nothing optional ("plain": HOL-blocked reads kept, no
# exemplars, no standing-queue detection, no conntrack stage), against the
# same probe with one option on at a time, under the kernel-cost workload
# (TCP stream, TCP and UDP ping-pong) between two namespaces, with an
# iptables conntrack rule in the receiver's namespace in every set-up (so
# that the conntrack stage has packets to see and conntrack's own work is
# the same for all). Set-ups alternate (A B C D E, ROUNDS rounds); per
# program the ns per run (kernel.bpf_stats_enabled) and the ratio to plain.
# On a clean path no socket ever has out-of-order segments: the HOL column
# is the common path (one load and compare per read).
#
# Env: ROUNDS (3), BENCH_QUICK=1 (1 round, shorter workload).
source "$(dirname "$0")/lib.sh"
bench_need iperf3 sockperf bpftool iptables ip6tables

ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
T_STREAM=$(bench_secs 3 1)
T_PP=$(bench_secs 2 1)

bpf_stats_on
netns_pair cli srv
bench_servers
for ipt in iptables ip6tables; do
	ip netns exec "$NS_B" $ipt -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT ||
		fail "cannot add the conntrack rule ($ipt)"
done

workload() {
	ip netns exec "$NS_A" iperf3 -c 198.18.0.2 -p 5201 -t "$T_STREAM" -P 2 >"$TMP/iperf3.log" 2>&1 ||
		fail "iperf3 failed: $(tail -n 3 "$TMP/iperf3.log")"
	ip netns exec "$NS_A" sockperf ping-pong --tcp -i 198.18.0.2 -p 11111 -t "$T_PP" >"$TMP/pp-tcp.log" 2>&1 ||
		fail "sockperf TCP failed"
	ip netns exec "$NS_A" sockperf ping-pong -i 198.18.0.2 -p 11112 -t "$T_PP" >"$TMP/pp-udp.log" 2>&1 ||
		fail "sockperf UDP failed"
}

STAGES="ip-start, tcp-start, udp-start, tcp-socket-enqueued, udp-socket-enqueued, tcp-socket-read, udp-socket-read"
setup_config() { # NAME OPTIONS...
	local name=$1
	shift
	cat >"$TMP/$name.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    filters: { network_namespace: host }
$(for o in "$@"; do echo "    $o"; done)
exporters:
  - { type: stdout, format: json, output: $TMP/metrics-$name.jsonl }
YAML
	only_probes "$TMP/$name.yaml" stack_latency
}
PLAIN=("include_hol_blocked: true" "exemplars: false")
setup_config plain "${PLAIN[@]}" "stages: [$STAGES]"
setup_config hol "include_hol_blocked: false" "exemplars: false" "stages: [$STAGES]"
setup_config exemplars "include_hol_blocked: true" "exemplars: true" "stages: [$STAGES]"
setup_config standing "${PLAIN[@]}" "stages: [$STAGES]" "standing_queue: { target: 1ms, interval: 10ms }"
setup_config conntrack "${PLAIN[@]}" "stages: [$STAGES, conntrack]"
SETUPS="plain hol exemplars standing conntrack"
for s in $SETUPS; do
	"$HOSTLAT" --config "$TMP/$s.yaml" --check >"$TMP/check-$s.txt" 2>&1 ||
		{ cat "$TMP/check-$s.txt"; fail "set-up $s: --check failed"; }
done

for r in $(seq 1 "$ROUNDS"); do
	for s in $SETUPS; do
		start_setup "$s"
		progstats "$TMP/$s.$r.before" "$SETUP_PID"
		workload
		progstats "$TMP/$s.$r.after" "$SETUP_PID"
		stop_setup
		echo "round $r: $s done"
	done
done

bench_py - "$TMP" "$ROUNDS" $SETUPS <<'PY' | tee "$TMP/table.txt"
import json, os, sys
import benchlib

tmp, rounds, setups = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
names = benchlib.hooks()


def load(setup, r):
    d = {}
    for k in ("before", "after"):
        with open(os.path.join(tmp, "%s.%d.%s" % (setup, r, k))) as f:
            d[k] = {int(i): v for i, v in json.load(f).items()}
    return benchlib.stats_delta(d["before"], d["after"])


per = {s: {} for s in setups}  # setup -> program -> [time, runs]
for s in setups:
    for r in range(1, rounds + 1):
        for st in load(s, r).values():
            a = per[s].setdefault(st["name"], [0, 0])
            a[0] += st["run_time_ns"]
            a[1] += st["run_cnt"]
progs = sorted(set().union(*[set(v) for v in per.values()]), key=lambda p: (names.get(p, "?"), p))
cost = {s: {p: (t / n if n else None) for p, (t, n) in per[s].items()} for s in setups}
rows, result = [], []
for p in progs:
    base = cost["plain"].get(p)
    row = [p, names.get(p, "?")]
    for s in setups:
        c = cost[s].get(p)
        row.append(benchlib.fmt(c) if s == "plain" else
                   "%s (%s)" % (benchlib.fmt(c), benchlib.fmt(benchlib.ratio(c, base), "%.2f")))
    rows.append(row)
    result.append({"program": p, "hook": names.get(p), "ns_per_event": {s: cost[s].get(p) for s in setups}})
print("Stack probe options: ns per program run (ratio to plain), %d round(s) alternated" % rounds)
benchlib.table(["program", "hook"] + setups, rows)
tot = {s: sum(t for t, _ in per[s].values()) / rounds / 1e6 for s in setups}
print()
print("Total BPF time per round (ms): " + ", ".join("%s %.1f" % (s, tot[s]) for s in setups))
with open(os.path.join(tmp, "result.json"), "w") as f:
    json.dump({"rounds": rounds, "programs": result, "total_ms_per_round": tot}, f)
PY
bench_record stack_options "$TMP/result.json"
