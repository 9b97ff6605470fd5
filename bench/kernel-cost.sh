#!/usr/bin/env bash
# Per-event kernel cost of every hostlat program, next to an empty program
# on the same hook (the floor) and to the same measurement written in
# bpftrace (bench/bpftrace/hostlat.bt), under one fixed workload between two
# network namespaces: a TCP stream (iperf3, 2 streams), TCP and UDP
# request/response (sockperf ping-pong) and UDP to a closed port (drops).
#
# kernel.bpf_stats_enabled=1 makes the kernel time every program run
# (run_time_ns, run_cnt per program); the figure is run_time_ns / run_cnt
# accumulated during the workload only (read before and after it). The
# three set-ups run one after the other, A B C A B C ... (ROUNDS rounds),
# so drift hits all three alike; per hook the table gives the total over
# the rounds and the spread of the per-round figures.
#
# Env: ROUNDS (3), BENCH_QUICK=1 (1 round, shorter workload).
source "$(dirname "$0")/lib.sh"
bench_need bpftrace iperf3 sockperf bpftool
[ -r "$BUILD/bench/floor.bpf.o" ] && [ -x "$BUILD/bench/floor" ] ||
	fail "$BUILD/bench/floor is missing: make BUILD=$BUILD bench-tools"

ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
T_STREAM=$(bench_secs 3 1)
T_PP=$(bench_secs 2 1)

bpf_stats_on
netns_pair cli srv
bench_servers

workload() {
	ip netns exec "$NS_A" iperf3 -c 198.18.0.2 -p 5201 -t "$T_STREAM" -P 2 >"$TMP/iperf3.log" 2>&1 ||
		fail "iperf3 failed: $(tail -n 3 "$TMP/iperf3.log")"
	ip netns exec "$NS_A" sockperf ping-pong --tcp -i 198.18.0.2 -p 11111 -t "$T_PP" >"$TMP/pp-tcp.log" 2>&1 ||
		fail "sockperf TCP failed"
	ip netns exec "$NS_A" sockperf ping-pong -i 198.18.0.2 -p 11112 -t "$T_PP" >"$TMP/pp-udp.log" 2>&1 ||
		fail "sockperf UDP failed"
	# Drops: UDP to a port nobody listens on (NO_SOCKET).
	ip netns exec "$NS_A" sockperf throughput -i 198.18.0.2 -p 9 -t 1 --mps 20000 >"$TMP/drops.log" 2>&1 || true
}

bench_agent_config "$TMP/hostlat.yaml"

# Programs bpftrace loaded: their names are the tracepoints' (first 15 bytes).
sed -n 's/^tracepoint:[a-z_]*:\([a-z_]*\).*/\1/p' bench/bpftrace/hostlat.bt | sort -u >"$TMP/bt-hooks"

for r in $(seq 1 "$ROUNDS"); do
	for s in hostlat floor bpftrace; do
		start_setup $s
		progstats "$TMP/$s.$r.before" "$SETUP_PID"
		workload
		progstats "$TMP/$s.$r.after" "$SETUP_PID"
		stop_setup
		echo "round $r: $s done"
	done
done

bench_py - "$TMP" "$ROUNDS" <<'PY' | tee "$TMP/table.txt"
import json, os, sys
import benchlib

tmp, rounds = sys.argv[1], int(sys.argv[2])
names = benchlib.hooks()
with open(os.path.join(tmp, "bt-hooks")) as f:
    for hook in f.read().split():
        names["bt:" + hook] = names["bt:" + hook[:benchlib.NAME_LEN]] = hook


def load(setup, r):
    d = {}
    for k in ("before", "after"):
        with open(os.path.join(tmp, "%s.%d.%s" % (setup, r, k))) as f:
            d[k] = {int(i): v for i, v in json.load(f).items()}
    return benchlib.stats_delta(d["before"], d["after"])


# per setup, per (hook, program): [(run_time_ns, run_cnt) per round]
per = {"hostlat": {}, "floor": {}, "bpftrace": {}}
for setup in per:
    for r in range(1, rounds + 1):
        for st in load(setup, r).values():
            key = "bt:" + st["name"] if setup == "bpftrace" else st["name"]
            hook = names.get(key)
            if hook is None:
                continue
            per[setup].setdefault((hook, st["name"]), []).append((st["run_time_ns"], st["run_cnt"]))


def cost(samples):
    t = sum(s[0] for s in samples)
    n = sum(s[1] for s in samples)
    each = [s[0] / s[1] for s in samples if s[1]]
    return (t / n if n else None), n, (min(each) if each else None), (max(each) if each else None)


def by_hook(setup):
    out = {}
    for (hook, name), samples in per[setup].items():
        t = sum(s[0] for s in samples)
        n = sum(s[1] for s in samples)
        a = out.setdefault(hook, [0, 0, []])
        a[0] += t
        a[1] += n
        a[2].append(name)
    return {h: (a[0] / a[1] if a[1] else None, a[1]) for h, a in out.items()}


floor = by_hook("floor")
bt = by_hook("bpftrace")
rows, result = [], []
for (hook, name), samples in sorted(per["hostlat"].items(), key=lambda x: (x[0][0], x[0][1])):
    c, n, lo, hi = cost(samples)
    f = floor.get(hook, (None, 0))[0]
    b = bt.get(hook, (None, 0))[0]
    rows.append([name, hook, str(n // rounds), benchlib.fmt(c), "%s..%s" % (benchlib.fmt(lo, "%.0f"), benchlib.fmt(hi, "%.0f")),
                 benchlib.fmt(f), benchlib.fmt(b), benchlib.fmt(benchlib.ratio(c, f), "%.2f"),
                 benchlib.fmt(benchlib.ratio(c, b), "%.2f"), benchlib.fmt(c - f if c is not None and f is not None else None)])
    result.append({"program": name, "hook": hook, "events_per_round": n // rounds, "ns_per_event": c,
                   "ns_per_event_min": lo, "ns_per_event_max": hi, "floor_ns": f, "bpftrace_ns": b,
                   "ratio_floor": benchlib.ratio(c, f), "ratio_bpftrace": benchlib.ratio(c, b)})
print("Per-event cost (ns per program run, kernel.bpf_stats_enabled), %d round(s), A=hostlat B=floor C=bpftrace" % rounds)
benchlib.table(["program", "hook", "events/round", "hostlat ns", "(rounds)", "floor ns", "bpftrace ns",
                "/floor", "/bpftrace", "above floor"], rows)
# Whole-probe view: total kernel time per round over the same workload.
tot = {s: sum(sum(x[0] for x in v) for v in per[s].values()) / rounds / 1e6 for s in per}
cnt = {s: sum(sum(x[1] for x in v) for v in per[s].values()) // rounds for s in per}
print()
print("Total BPF time per round (ms): hostlat %.1f (%d runs), floor %.1f (%d), bpftrace %.1f (%d)"
      % (tot["hostlat"], cnt["hostlat"], tot["floor"], cnt["floor"], tot["bpftrace"], cnt["bpftrace"]))
print("(bpftrace's figure excludes the perf trace-event set-up its classic tracepoints cost outside the program.)")
with open(os.path.join(tmp, "result.json"), "w") as f:
    json.dump({"rounds": rounds, "programs": result,
               "total_ms_per_round": tot, "runs_per_round": cnt}, f)
PY
bench_record kernel_cost "$TMP/result.json"
