#!/usr/bin/env bash
# probes.softirq under network load: a UDP flood between two namespaces
# raises NET_RX on every packet batch; the agent must record NET_RX wait
# (raise -> entry) and run time (entry -> exit) samples with plausible
# values (> 0, <= 1 s), exported as hostlat.softirq.wait / .duration.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

netns_pair ssnd srcv
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  softirq:
    vectors: [net_rx, net_tx, timer]
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: stdout, format: pretty, output: $TMP/pretty.txt }
YAML
only_probes "$TMP/hostlat.yaml" softirq
"$HOSTLAT" --config "$TMP/hostlat.yaml" --check >"$TMP/check.txt" || fail "--check failed"
cat "$TMP/check.txt"
grep -q "probe softirq: vectors timer, net_tx, net_rx" "$TMP/check.txt" &&
	grep -q "wait *tp_btf/softirq_raise" "$TMP/check.txt" || fail "--check does not show the softirq hooks"
start_agent "$TMP/hostlat.yaml"

start_listener reader ip netns exec "$NS_B" "$PY" tests/tools/stall.py reader 7100 4
READER=$LISTENER_PID
ip netns exec "$NS_A" "$PY" tests/tools/stall.py flood 198.18.0.2 7100 3 256 || fail "flood failed"
wait "$READER"
cat "$TMP/reader.out"
sleep 1.5
stop_agent
grep -A3 "hostlat.softirq.duration softirq.vector=net_rx" "$TMP/pretty.txt" | tail -4

"$PY" - "$TMP/metrics.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, check_invariants

req = last_request(sys.argv[1])
got = {}
for metric in ("hostlat.softirq.wait", "hostlat.softirq.duration"):
    for a, dp in points(req, metric):
        check_invariants(dp)
        got[(metric, a["softirq.vector"])] = dp
for (metric, vec), dp in sorted(got.items()):
    print("%-26s %-7s count %8s  min %-12s max %-12s sum %s" %
          (metric, vec, dp["count"], dp.get("min"), dp.get("max"), dp["sum"]))
for metric in ("hostlat.softirq.wait", "hostlat.softirq.duration"):
    dp = got.get((metric, "net_rx"))
    if not dp or int(dp["count"]) < 100:
        sys.exit("%s net_rx: too few samples under load: %s" % (metric, dp and dp["count"]))
    if not (0 < float(dp["min"]) <= float(dp["max"]) <= 1.0) or float(dp["sum"]) <= 0:
        sys.exit("%s net_rx: implausible values %s" % (metric, dp))
    mean = float(dp["sum"]) / int(dp["count"])
    if not (0 < mean < 0.1):
        sys.exit("%s net_rx: implausible mean %g s" % (metric, mean))
if ("hostlat.softirq.duration", "timer") not in got:
    sys.exit("no TIMER softirq samples in 5 s")
if any(v not in ("net_rx", "net_tx", "timer") for _, v in got):
    sys.exit("a vector that was not asked for: %s" % sorted(got))
lost = sum(int(dp["asInt"]) for _, dp in points(req, "hostlat.softirq.lost"))
if lost:
    sys.exit("samples lost: %d" % lost)
PY
ok "softirq wait and duration measured"
