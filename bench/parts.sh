#!/usr/bin/env bash
# Where a duration program's nanoseconds go: the softirq probe's
# softirq_entry program rebuilt part by part (bench/parts.bpf.c: the state
# lookup, the clock, the series' totals, the exact bucket and its counter),
# one program per set-up, alternated with the real softirq probe (the agent
# with only that probe on), under the kernel-cost workload (TCP stream, TCP
# and UDP ping-pong between two namespaces). Per set-up the ns per run
# (kernel.bpf_stats_enabled); each part's cost is its program's figure
# minus the one before. Every duration program of hostlat (stack stages,
# run queue, NAPI, softirq) records its sample with the same code as
# p5_bucket: these parts are what each of them pays per sample above its
# hook's floor, before its own reads and filters.
#
# Env: ROUNDS (3), BENCH_QUICK=1 (1 round, shorter workload).
source "$(dirname "$0")/lib.sh"
bench_need iperf3 sockperf bpftool
[ -x "$BUILD/bench/parts" ] || fail "$BUILD/bench/parts is missing: make BUILD=$BUILD bench-tools"

ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
T_STREAM=$(bench_secs 3 1)
T_PP=$(bench_secs 2 1)
PARTS="p0_empty p1_state p2_clock p3_totals p4_search p5_bucket"

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
}

cat >"$TMP/softirq.yaml" <<YAML
agent: { interval: 1s, log_level: info }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/softirq.yaml" softirq

for r in $(seq 1 "$ROUNDS"); do
	for s in $PARTS softirq; do
		start_setup "$( [ $s = softirq ] && echo softirq || echo "parts:$s")"
		progstats "$TMP/$s.$r.before" "$SETUP_PID"
		workload
		progstats "$TMP/$s.$r.after" "$SETUP_PID"
		stop_setup
		echo "round $r: $s done"
	done
done

bench_py - "$TMP" "$ROUNDS" $PARTS <<'PY' | tee "$TMP/table.txt"
import json, os, sys
import benchlib

tmp, rounds, parts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
what = {"p0_empty": "empty program (the floor)", "p1_state": "+ per-CPU state lookup and store",
        "p2_clock": "+ bpf_ktime_get_ns()", "p3_totals": "+ series totals (sum, zeros, min, max)",
        "p4_search": "+ exact OTel bucket's position (bounds table search)",
        "p5_bucket": "+ that bucket's counter (the whole sample)"}


def per_round(setup):
    out = {}
    for r in range(1, rounds + 1):
        d = {}
        for k in ("before", "after"):
            with open(os.path.join(tmp, "%s.%d.%s" % (setup, r, k))) as f:
                d[k] = {int(i): v for i, v in json.load(f).items()}
        for st in benchlib.stats_delta(d["before"], d["after"]).values():
            out.setdefault(st["name"], []).append((st["run_time_ns"], st["run_cnt"]))
    return out


def cost(samples):
    t, n = sum(s[0] for s in samples), sum(s[1] for s in samples)
    each = [s[0] / s[1] for s in samples if s[1]]
    return (t / n if n else None), n, (min(each) if each else None), (max(each) if each else None)


rows, res, prev = [], {"rounds": rounds, "parts": [], "softirq": []}, None
for p in parts:
    c, n, lo, hi = cost(per_round(p).get(p, []))
    step = c - prev if c is not None and prev is not None else None
    rows.append([p, what[p], str(n // rounds), benchlib.fmt(c), "%s..%s" % (benchlib.fmt(lo, "%.0f"), benchlib.fmt(hi, "%.0f")),
                 benchlib.fmt(step, "%+.1f")])
    res["parts"].append({"program": p, "what": what[p], "runs_per_round": n // rounds, "ns_per_run": c,
                         "ns_min": lo, "ns_max": hi, "step_ns": step})
    prev = c
print("A duration sample part by part (softirq_entry, ns per run), %d round(s), alternated with the real probe" % rounds)
benchlib.table(["program", "part", "runs/round", "ns/run", "(rounds)", "this part"], rows)
rows = []
for name, samples in sorted(per_round("softirq").items()):
    c, n, lo, hi = cost(samples)
    rows.append([name, str(n // rounds), benchlib.fmt(c), "%s..%s" % (benchlib.fmt(lo, "%.0f"), benchlib.fmt(hi, "%.0f"))])
    res["softirq"].append({"program": name, "runs_per_round": n // rounds, "ns_per_run": c})
print()
print("The softirq probe itself in the same run (the agent, only that probe):")
benchlib.table(["program", "runs/round", "ns/run", "(rounds)"], rows)
with open(os.path.join(tmp, "result.json"), "w") as f:
    json.dump(res, f)
PY
bench_record parts "$TMP/result.json"
