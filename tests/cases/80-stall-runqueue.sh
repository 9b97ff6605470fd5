#!/usr/bin/env bash
# probes.runqueue: two UDP readers pinned to CPU 1, each in its own cgroup
# (group_by: [cgroup], filters.cgroups). The calm one runs alone: its
# wake-ups reach the CPU within microseconds. The busy one shares CPU 1
# with a real-time CPU hog that spins 20 ms at a time: its run-queue
# latency must be in the millisecond range.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
command -v taskset >/dev/null && command -v chrt >/dev/null || skip "taskset/chrt missing (util-linux)"
CG2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
[ -n "$CG2" ] || skip "no cgroup v2 mount"

netns_pair qsnd qrcv
CGNAME=hostlat-test-$HL_ID
mkdir -p "$CG2/$CGNAME/calm" "$CG2/$CGNAME/busy"
on_exit "rmdir $CG2/$CGNAME/calm $CG2/$CGNAME/busy $CG2/$CGNAME"

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  runqueue:
    tasks: socket-readers
    filters: { cgroups: [$CGNAME/calm, $CGNAME/busy] }
    group_by: [cgroup]
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: stdout, format: pretty, output: $TMP/pretty.txt }
YAML
only_probes "$TMP/hostlat.yaml" runqueue
"$HOSTLAT" --config "$TMP/hostlat.yaml" --check >"$TMP/check.txt" || fail "--check failed"
grep -A3 "probe runqueue" "$TMP/check.txt"
grep -q "readers *tp_btf/sock_recv_length" "$TMP/check.txt" || fail "--check does not show the reader hook"
start_agent "$TMP/hostlat.yaml"

# reader NAME PORT SECONDS: a UDP reader on CPU 1 in cgroup NAME (joined
# before entering the namespace: ip netns exec remounts /sys).
reader() {
	start_listener "$1" sh -c "echo \$\$ >$CG2/$CGNAME/$1/cgroup.procs && exec ip netns exec $NS_B taskset -c 1 $PY tests/tools/stall.py reader $2 $3"
	READER=$LISTENER_PID
}

reader calm 7200 3
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7200 400 100 5
wait "$READER"

reader busy 7201 4
chrt -f 1 taskset -c 1 "$PY" tests/tools/stall.py hog 3 20 2 &
HOG=$!
on_exit "kill $HOG"
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7201 400 100 5
wait "$HOG"
wait "$READER"
cat "$TMP/calm.out" "$TMP/busy.out"
sleep 1.5
stop_agent
grep -A1 "hostlat.sched.runqueue.latency" "$TMP/pretty.txt" | tail -5

"$PY" - "$TMP/metrics.jsonl" "$CGNAME" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, median_index, check_invariants

req, cg = last_request(sys.argv[1]), sys.argv[2]
got = {}
for a, dp in points(req, "hostlat.sched.runqueue.latency"):
    check_invariants(dp)
    got[a.get("cgroup.path")] = dp
print("series:", sorted(got))
def median_s(dp):
    i = median_index(dp)
    return 0.0 if i is None else 2 ** ((i + 1) / 2 ** dp["scale"])  # bucket upper bound
res = {}
for name in ("calm", "busy"):
    dp = got.get("/%s/%s" % (cg, name))
    if not dp:
        sys.exit("no run-queue latency for the %s reader" % name)
    res[name] = (int(dp["count"]), median_s(dp), float(dp["max"]))
    print("%s: count %d, median <= %.6f s, max %.6f s" % ((name,) + res[name]))
calm, busy = res["calm"], res["busy"]
if calm[0] < 50 or busy[0] < 20:
    sys.exit("too few wake-ups measured")
if calm[1] >= 0.001:
    sys.exit("calm reader: median run-queue latency %.6f s is not below 1 ms" % calm[1])
if not (0.001 <= busy[1] and busy[2] <= 1.0):
    sys.exit("busy reader: median %.6f s / max %.6f s not in the ms range" % busy[1:])
if len(got) != 2:
    sys.exit("series beyond the two filtered cgroups: %s" % sorted(got))
PY
ok "run-queue latency: calm in microseconds, with a CPU hog in milliseconds"
