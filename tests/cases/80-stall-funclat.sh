#!/usr/bin/env bash
# probes.function_latency:
#   - a function that is not in the kernel's BTF is a config error: exit 2
#     from --check and at start, naming file:line:column, key and function;
#     the same name with '?' is optional and only reported;
#   - where the kernel has neither BPF trampolines nor kprobes, --check and the log report
#     each function's refusal and the other probes run;
#   - where it has one of them, net_rx_action is timed under UDP traffic.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

# 1. not in BTF: a config error, with its position
cat >"$TMP/bad.yaml" <<'YAML'
probes:
  function_latency:
    functions:
      - net_rx_action
      - no_such_function_hl
YAML
rc=0
"$HOSTLAT" --config "$TMP/bad.yaml" --check >"$TMP/bad.out" 2>&1 || rc=$?
cat "$TMP/bad.out"
[ $rc -eq 2 ] || fail "--check: exit $rc for a function not in BTF, want 2"
grep -q "$TMP/bad.yaml:5:9: 'no_such_function_hl' is not a function in the running kernel's BTF" "$TMP/bad.out" &&
	grep -q "(key 'probes.function_latency.functions')" "$TMP/bad.out" || fail "--check message"
rc=0
timeout 20 "$HOSTLAT" --config "$TMP/bad.yaml" >/dev/null 2>"$TMP/bad-run.err" || rc=$?
[ $rc -eq 2 ] && grep -q "bad.yaml:5:9: 'no_such_function_hl'" "$TMP/bad-run.err" ||
	fail "start: exit $rc for a function not in BTF, want 2: $(cat "$TMP/bad-run.err")"
ok "a function missing from BTF is rejected with its position (exit 2)"

# 2. the same name as optional, next to real functions
netns_pair fsnd frcv
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  softirq: { vectors: [net_rx] }
  function_latency:
    functions: [net_rx_action, ip_rcv, "no_such_function_hl?"]
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" softirq function_latency
check_runs "$TMP/check.txt" "$HOSTLAT" --config "$TMP/hostlat.yaml" --check
sed -n '/probe function_latency/,/^probe drops/p' "$TMP/check.txt"
grep -q "no_such_function_hl (optional) *unavailable: not in the kernel's BTF" "$TMP/check.txt" ||
	fail "--check does not report the optional function"

start_agent "$TMP/hostlat.yaml"
start_listener reader ip netns exec "$NS_B" "$PY" tests/tools/stall.py reader 7400 2
READER=$LISTENER_PID
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7400 300 100 1
wait "$READER"
sleep 1.5
stop_agent
grep function_latency "$TMP/agent.err" || true

if grep -Eq "^  net_rx_action +(fentry/net_rx_action \+ fexit|kprobe/net_rx_action \+ kretprobe)/net_rx_action" "$TMP/check.txt"; then
	# trampolines or kprobes work here: real samples
	"$PY" - "$TMP/metrics.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, check_invariants
req = last_request(sys.argv[1])
got = {a["function"]: dp for a, dp in points(req, "hostlat.function.duration")}
print({f: (dp["count"], dp.get("max")) for f, dp in got.items()})
for f in ("net_rx_action", "ip_rcv"):
    dp = got.get(f)
    if not dp or int(dp["count"]) < 100:
        sys.exit("%s: too few calls timed" % f)
    check_invariants(dp)
    if not (0 < float(dp["min"]) <= float(dp["max"]) <= 1.0):
        sys.exit("%s: implausible durations" % f)
PY
	ok "kernel functions timed with $(grep -Eo '^  net_rx_action +[a-z]+' "$TMP/check.txt" | awk '{print $2}')"
else
	# trampolines refused and no kprobes: each function reported, the rest ran
	for f in net_rx_action ip_rcv; do
		grep -q "^  $f *unavailable: .*trampoline" "$TMP/check.txt" ||
			fail "--check does not give the reason for $f"
		grep -q "probe function_latency is off: .*$f(): .*trampoline" "$TMP/agent.err" ||
			fail "the log does not name $f and why it cannot be timed"
	done
	grep -q "softirq: vectors net_rx" "$TMP/agent.err" || fail "the softirq probe did not start"
	"$PY" - "$TMP/metrics.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
req = last_request(sys.argv[1])
if list(points(req, "hostlat.function.duration")):
    sys.exit("function durations exported without trampolines")
if not any(int(dp["count"]) for _, dp in points(req, "hostlat.softirq.duration")):
    sys.exit("the other probes did not run")
PY
	ok "trampolines refused here: reported per function, the other probes ran"
fi
