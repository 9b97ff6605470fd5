#!/usr/bin/env bash
# Real traffic between two network namespaces; the agent (ASan build) runs
# in the root namespace filtered on the receiver's namespace. A TCP
# receiver leaves each message D ms in its socket before reading it: the
# tcp-socket-read median must fall in the bucket of D. Every other stage
# with a hook here must record samples; stages without one must be reported.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

netns_pair snd rcv
SCALE=3
# D sits just above the lower bound of its scale-3 bucket (18.58 ms, 20.26 ms]
# so that scheduling overshoot of up to ~1.5 ms stays in the same bucket.
D_MS=18.7
D_NS=18700000

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    histogram_scale: $SCALE
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: stdout, format: pretty, output: $TMP/pretty.txt }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

"$HOSTLAT" --config "$TMP/hostlat.yaml" --check >"$TMP/check.txt" || fail "--check failed"
cat "$TMP/check.txt"
grep -q "tcp-socket-read" "$TMP/check.txt" || fail "--check does not list the stages"

start_agent "$TMP/hostlat.yaml"

tcp_reads 31 "$D_MS"
udp_reads 200 5002
sleep 1.5
stop_agent
cat "$TMP/pretty.txt" | tail -n 60

grep -q "stage udp-start unavailable" "$TMP/agent.err" || grep -q "stage udp-start via" "$TMP/agent.err" ||
	fail "udp-start neither reported unavailable nor attached"

"$PY" - "$TMP/metrics.jsonl" "$D_NS" "$SCALE" "$BUILD/exphist" <<'PY'
import subprocess, sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, median_index, check_invariants

path, d_ns, scale, exphist = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
req = last_request(path)
hooks = {a["stage"]: (a["hook"], float(dp["asDouble"])) for a, dp in points(req, "hostlat.probe.hook")}
print("hooks:", hooks)
lat = {}
for a, dp in points(req, "hostlat.stack.latency"):
    check_invariants(dp)
    lat[a["stage"]] = dp
for stage, (hook, up) in sorted(hooks.items()):
    n = int(lat[stage]["count"]) if stage in lat else 0
    print("%-22s %-50s samples %d" % (stage, hook, n))
    if up == 1 and n == 0:
        sys.exit("stage %s runs on %s but recorded nothing" % (stage, hook))
    if up == 0 and hook != "none":
        sys.exit("stage %s: gauge 0 but hook %s" % (stage, hook))
for must in ("ip-start", "tcp-start", "tcp-socket-enqueued", "udp-socket-enqueued", "tcp-socket-read"):
    if hooks.get(must, ("none", 0))[1] != 1:
        sys.exit("stage %s has no hook on this kernel" % must)
dp = lat["tcp-socket-read"]
if int(dp["count"]) < 30:
    sys.exit("tcp-socket-read: only %s samples for 31 delayed reads" % dp["count"])
s = dp["scale"]
want = int(subprocess.check_output([exphist, "index", "--scale", str(s)], input=b"%d\n" % d_ns).split()[0])
got = median_index(dp)
lo, hi = subprocess.check_output([exphist, "bounds", "--scale", str(s), str(got)]).split()
print("tcp-socket-read: count %s median bucket %s (%s, %s] s; D=%d ns is in bucket %d; max %s"
      % (dp["count"], got, lo.decode(), hi.decode(), d_ns, want, dp.get("max")))
if got != want:
    sys.exit("median bucket %s != bucket of D %d" % (got, want))
if "max" in dp and not (d_ns * 1e-9 <= dp["max"] < 1.0):
    sys.exit("max %s implausible" % dp["max"])
# min folds the CPUs that saw samples only (others hold no min at all)
if "min" in dp and not (0 < dp["min"] <= float(hi)):
    sys.exit("min %s implausible" % dp["min"])
PY
ok "stack latency measured"

# SIGKILL leaves nothing attached: every attachment is a bpf_link held
# only by the agent's file descriptors.
: >"$TMP/agent.err"
start_agent "$TMP/hostlat.yaml"
ids=$(agent_prog_ids "$AGENT_PID")
[ -n "$ids" ] || fail "no hl_ programs held by the running agent"
echo "agent $AGENT_PID holds programs: $ids"
kill_agent
# shellcheck disable=SC2086
wait_for 10 progs_gone $ids || fail "programs still loaded after SIGKILL: $ids"
ok "SIGKILL left no program behind"
