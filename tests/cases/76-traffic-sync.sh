#!/usr/bin/env bash
# Traffic sampling, synchronized runs (SyncMillisampler): two agents, each in
# its own network namespace ("host" node-1 and node-2, one kernel clock),
# each sampling its own veth, align: wallclock. One process in a third
# namespace bursts into both: first at the same instants, then at
# alternating instants, then at the same instants below each host's burst
# threshold. Both hosts' runs start on the same wall-clock slot (at most one
# slot apart), on multiples of the granularity; `hostlat traffic merge`
# finds the simultaneous bursts in the first phase and none in the second,
# and in the third finds the slots whose sum exceeds --capacity while no
# host is bursting. merge refuses, each with its reason, a run edited off
# the slot grid, one of another granularity, one that does not overlap, and
# (without --trust-clocks) runs of an unsynchronized clock. The per-run
# burst gauge carries the same hostlat.run.start on both hosts.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs

# snd: veth s1 - a1 in h1 (198.18.1.0/24), s2 - a2 in h2 (198.18.2.0/24).
NS_S=hl-snd-$HL_ID
NS_1=hl-h1-$HL_ID
NS_2=hl-h2-$HL_ID
for ns in "$NS_S" "$NS_1" "$NS_2"; do
	ip netns add "$ns"
	on_exit ip netns del "$ns"
	ip -n "$ns" link set lo up
done
for h in 1 2; do
	ns=NS_$h
	ip link add "hls$h$HL_ID" netns "$NS_S" type veth peer name "hlh$h$HL_ID" netns "${!ns}"
	ip -n "$NS_S" addr add "198.18.$h.1/24" dev "hls$h$HL_ID"
	ip -n "${!ns}" addr add "198.18.$h.2/24" dev "hlh$h$HL_ID"
	# Jumbo frames: a burst is a few datagrams, sent in tens of microseconds,
	# so it rarely straddles a slot boundary.
	ip -n "$NS_S" link set "hls$h$HL_ID" mtu 9000
	ip -n "${!ns}" link set "hlh$h$HL_ID" mtu 9000
	ip -n "$NS_S" link set "hls$h$HL_ID" up
	ip -n "${!ns}" link set "hlh$h$HL_ID" up
	ip netns exec "$NS_S" sysctl -qw "net.ipv6.conf.hls$h$HL_ID.disable_ipv6=1"
	ip netns exec "${!ns}" sysctl -qw "net.ipv6.conf.hlh$h$HL_ID.disable_ipv6=1"
	mac_s=$(ip netns exec "$NS_S" cat "/sys/class/net/hls$h$HL_ID/address")
	mac_h=$(ip netns exec "${!ns}" cat "/sys/class/net/hlh$h$HL_ID/address")
	ip -n "$NS_S" neigh replace "198.18.$h.2" lladdr "$mac_h" dev "hls$h$HL_ID" nud permanent
	ip -n "${!ns}" neigh replace "198.18.$h.1" lladdr "$mac_s" dev "hlh$h$HL_ID" nud permanent
	start_sink "${!ns}" 6000
done

# start_host N: the agent of node-N in its namespace; sets PID_N.
start_host() {
	local h=$1 ns=NS_$1 pid
	cat >"$TMP/h$h.yaml" <<YAML
agent: { interval: 1s }
resource: { attributes: { host.name: node-$h } }
probes:
  traffic:
    interfaces: [hlh$h$HL_ID]
    granularities: [1ms, 100us]
    samples: 400
    every: 2s
    burst_threshold: 4
    store: { dir: $TMP/store$h }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics$h.jsonl }
YAML
	only_traffic "$TMP/h$h.yaml"
	ip netns exec "${!ns}" "$HOSTLAT" --config "$TMP/h$h.yaml" >"$TMP/h$h.out" 2>"$TMP/h$h.err" &
	pid=$!
	on_exit "kill -9 $pid"
	eval "PID_$h=$pid"
	wait_for 30 grep -q "running" "$TMP/h$h.err" || {
		cat "$TMP/h$h.err" >&2
		fail "agent of node-$h did not start"
	}
}
stop_host() {
	local pid rc=0
	pid=$(eval echo "\$PID_$1")
	kill -TERM "$pid" || fail "the agent of node-$1 died before SIGTERM"
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/h$1.err" >&2; fail "the agent of node-$1 exited with $rc"; }
}

start_host 1
start_host 2
grep "traffic:" "$TMP/h1.err"
# --check says how runs are aligned and what the kernel says of its clock.
ip netns exec "$NS_1" "$HOSTLAT" --config "$TMP/h1.yaml" --check >"$TMP/check.txt" 2>&1 || true
grep -E '^  (align|clock):' "$TMP/check.txt" || { cat "$TMP/check.txt"; fail "--check: no align or clock line"; }
grep -q '^  align: wallclock' "$TMP/check.txt" || fail "--check: align is not wallclock by default"

# runs_after STORE NS: the 1 ms runs of STORE that start at NS or later.
runs_after() {
	"$PY" -c '
import sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs
print(sum(1 for r in runs(sys.argv[1], 10**6) if r["start"] >= int(sys.argv[2])))' "$1" "$2" 2>/dev/null || echo 0
}
both_have_run_after() { [ "$(runs_after "$TMP/store1" "$1")" -ge 1 ] && [ "$(runs_after "$TMP/store2" "$1")" -ge 1 ]; }

# Bursts of 8 x 8800 bytes (70736 on the wire: above 4 % of 10 Gbit/s, 50000
# bytes, in 1 ms), then 4 x 8800 (35368: below it), every 20.3 ms.
ip netns exec "$NS_S" "$PY" tests/tools/traffic_sync.py 198.18.1.2 198.18.2.2 6000 8800 20.3 "$TMP/sync.log" \
	together:8 alternate:8 together:4 >"$TMP/sender.out" &
SENDER=$!
on_exit "kill $SENDER"
for k in 0 1 2; do
	wait_for 20 grep -qs "^phase $k" "$TMP/sender.out" || fail "the sender did not reach phase $k"
	t=$(awk -v k=$k '$1 == "phase" && $2 == k { print $5 }' "$TMP/sync.log")
	# A run of each host that starts after the phase did (and is stored: it ended).
	wait_for 60 both_have_run_after $((t + 50000000)) || fail "phase $k: no stored run of both hosts after it started"
	kill -USR1 $SENDER
done
wait $SENDER || fail "the sender failed"
stop_host 1
stop_host 2

# Pair the runs, check the alignment, pick one pair of 1 ms runs per phase.
"$PY" - "$TMP" <<'PY' || fail "runs are not aligned"
import sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs

tmp = sys.argv[1]
for g, name in ((10**6, "1ms"), (10**5, "100us")):
    r1, r2 = runs(tmp + "/store1", g), runs(tmp + "/store2", g)
    assert r1 and r2, "no %s runs" % name
    offs = []
    for a in r1:
        assert a["start"] % g == 0, "%s: start %d is not on a multiple of %s" % (a["path"], a["start"], name)
        b = min(r2, key=lambda b: abs(b["start"] - a["start"]))
        if abs(b["start"] - a["start"]) < a["n"] * g:  # the same round
            offs.append((b["start"] - a["start"]) // g)
    for b in r2:
        assert b["start"] % g == 0, "%s: start %d is not on a multiple of %s" % (b["path"], b["start"], name)
    print("%s: %d runs on node-1, %d on node-2, %d paired; start offsets (slots): %s"
          % (name, len(r1), len(r2), len(offs), sorted(set(offs))))
    assert len(offs) >= 2, "too few paired %s runs" % name
    assert all(abs(o) <= 1 for o in offs), "%s runs more than a slot apart: %s" % (name, offs)
    assert all(a["host"] == "node-1" for a in r1) and all(b["host"] == "node-2" for b in r2)

log = [l.split() for l in open(tmp + "/sync.log")]
starts = [int(l[4]) for l in log if l[0] == "phase"] + [int(l[1]) for l in log if l[0] == "end"]
r1, r2 = runs(tmp + "/store1", 10**6), runs(tmp + "/store2", 10**6)
with open(tmp + "/pairs", "w") as f:
    for k in range(3):
        lo, hi = starts[k], starts[k + 1]
        inside = lambda r: r["start"] >= lo + 50 * 10**6 and r["start"] + r["n"] * r["gran_ns"] <= hi
        # the same round: at most a slot apart (a run armed late moves to the next slot)
        pair = [(a, b) for a in r1 for b in r2 if inside(a) and inside(b) and abs(a["start"] - b["start"]) <= 10**6]
        assert pair, "phase %d: no pair of runs within a slot of each other in it" % k
        a, b = pair[0]
        f.write("%s %s %d %d\n" % (a["path"], b["path"], a["start"], a["start"] + a["n"] * a["gran_ns"]))
        print("phase %d: runs from %d" % (k, a["start"]))
PY

CAP=500Mbit # 62500 bytes per 1 ms slot: above one host's 35368 (and its threshold), below two hosts' 70736
k=0
while read -r p1 p2 _ _; do
	"$HOSTLAT" traffic merge --trust-clocks --capacity $CAP --width 100 "$p1" "$p2" >"$TMP/merge$k.txt" ||
		fail "merge of phase $k failed"
	"$HOSTLAT" traffic merge --trust-clocks --capacity $CAP --csv "$p1" "$p2" >"$TMP/merge$k.csv" ||
		fail "merge --csv of phase $k failed"
	echo "---- phase $k: hostlat traffic merge --trust-clocks --capacity $CAP"
	cat "$TMP/merge$k.txt"
	k=$((k + 1))
done <"$TMP/pairs"

"$PY" - "$TMP" <<'PY' || fail "merge did not find what was sent"
import csv, sys
tmp = sys.argv[1]
log = [l.split() for l in open(tmp + "/sync.log")]
pairs = [l.split() for l in open(tmp + "/pairs")]
for k, (p1, p2, s, e) in enumerate(pairs):
    s, e = int(s), int(e)
    rows = list(csv.DictReader(open("%s/merge%d.csv" % (tmp, k))))
    assert rows and "node-1_bytes" in rows[0] and "node-2_bytes" in rows[0], rows[:1]
    both = sum(1 for r in rows if r["hosts_bursting"] == "2")
    one = sum(1 for r in rows if r["hosts_bursting"] == "1")
    hidden = sum(1 for r in rows if r["hidden_incast"] == "1")
    sent = [l for l in log if l[0] == "burst" and int(l[1]) == k and s <= int(l[3]) and int(l[4]) + 300000 < e]
    n = len(sent) // 2
    print("phase %d: %d bursts per host sent in the run; merged: %d slots with both hosts bursting, "
          "%d with one, %d above capacity with none" % (k, n, both, one, hidden))
    assert n >= 5, "phase %d: only %d bursts in the run" % (k, n)
    if k == 0:
        assert both >= n // 3 and both >= 1, "simultaneous bursts not found"
    elif k == 1:
        assert both == 0, "alternating bursts merged as simultaneous"
        assert one >= n // 2, "alternating bursts not seen"
        assert hidden == 0
    else:
        assert both == 0 and one == 0, "bursts below the threshold counted as bursts"
        assert hidden >= n // 4 and hidden >= 1, "incast no host shows not found"
PY
grep -q "^simultaneous bursts: [1-9][0-9]* slots with 2 or more hosts bursting" "$TMP/merge0.txt" || fail "chart 0"
grep -q "^simultaneous bursts: 0 slots" "$TMP/merge1.txt" || fail "chart 1"
grep -q "of them with no host bursting" "$TMP/merge2.txt" && grep -q "^incast slots no host's view shows" "$TMP/merge2.txt" ||
	fail "chart 2 shows no hidden incast"
# Neither host's own view shows a burst in that run.
read -r p1 p2 _ _ < <(sed -n 3p "$TMP/pairs")
for p in "$p1" "$p2"; do
	"$HOSTLAT" traffic show "$p" >"$TMP/show.txt" || fail "show $p"
	grep -q "^receive: .* 0 bursts" "$TMP/show.txt" || { cat "$TMP/show.txt"; fail "$p: a host's view shows bursts"; }
done

# Refusals, each naming the file and its reason.
read -r p1 p2 _ _ < <(sed -n 1p "$TMP/pairs")
read -r q1 q2 _ _ < <(sed -n 3p "$TMP/pairs")
sync1=$(zcat "$p1" | sed -n 's/^# clock_synchronized: //p')
rc=0
"$HOSTLAT" traffic merge "$p1" "$p2" >/dev/null 2>"$TMP/e1" || rc=$?
cat "$TMP/e1"
if [ "$sync1" = 0 ]; then
	[ $rc = 1 ] && grep -q "refused $p1: its host's clock was not synchronized" "$TMP/e1" ||
		fail "runs of an unsynchronized clock merged without --trust-clocks"
else
	[ $rc = 0 ] || fail "merge of synchronized runs: exit $rc"
fi
# A run edited off the slot grid (its start moved by 123457 ns).
"$PY" -c '
import gzip, re, sys
t = gzip.open(sys.argv[1], "rt").read()
t = re.sub(r"(?m)^# start_unix_ns: (\d+)$", lambda m: "# start_unix_ns: %d" % (int(m.group(1)) + 123457), t)
gzip.open(sys.argv[2], "wt").write(t)' "$p2" "$TMP/shifted.csv.gz"
rc=0
"$HOSTLAT" traffic merge --trust-clocks "$p1" "$TMP/shifted.csv.gz" >"$TMP/out1" 2>"$TMP/e2" || rc=$?
cat "$TMP/e2"
[ $rc = 1 ] && grep -q "refused $TMP/shifted.csv.gz: its start is not aligned to its granularity (123457ns past" "$TMP/e2" ||
	fail "an unaligned run was not refused: exit $rc"
grep -q "^rack: 1 host, " "$TMP/out1" || fail "the aligned run was not merged alone"
# Another granularity, and a run of another phase (no overlap).
g100=$(ls "$(dirname "$p2")"/*-100us.csv.gz | head -n 1)
rc=0
"$HOSTLAT" traffic merge --trust-clocks "$p1" "$p2" "$g100" "$q2" >/dev/null 2>"$TMP/e3" || rc=$?
cat "$TMP/e3"
[ $rc = 1 ] || fail "merge with refused runs: exit $rc"
grep -q "refused $g100: its granularity is 100us, not the 1ms of the runs merged" "$TMP/e3" || fail "granularity refusal"
grep -q "refused $q2: it does not overlap the other runs" "$TMP/e3" || fail "overlap refusal"
grep -q "merged 2 of 4 runs" "$TMP/e3" || fail "merged count"
expect 2 "--capacity '10 apples'" "$HOSTLAT" traffic merge --capacity "10 apples" "$p1"
expect 2 "no run files given" "$HOSTLAT" traffic merge --capacity 10Gbit

# The per-run burst gauge: the same run.start on both hosts, bursts on both in phase 0.
"$PY" - "$TMP" "$(sed -n 1p "$TMP/pairs" | cut -d' ' -f3)" <<'PY' || fail "run.bursts metrics"
import json, sys
sys.path.insert(0, "tests/tools")
from otlp_check import points
import datetime
tmp, start = sys.argv[1], int(sys.argv[2])
want = datetime.datetime.fromtimestamp(start // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (start % 10**9)
seen = {}
for h in (1, 2):
    sync = None
    for line in open("%s/metrics%d.jsonl" % (tmp, h)):
        req = json.loads(line)
        for a, dp in points(req, "hostlat.traffic.run.bursts"):
            if a.get("network.io.direction") == "receive" and a.get("hostlat.granularity") == "1ms":
                seen.setdefault(h, {})[a["hostlat.run.start"]] = float(dp["asDouble"])
        for a, dp in points(req, "hostlat.clock.synchronized"):
            sync = float(dp["asDouble"])
    assert sync in (0.0, 1.0), "hostlat.clock.synchronized of node-%d: %s" % (h, sync)
    print("node-%d: run.bursts for %d runs, clock.synchronized %s; phase 0 run %s: %s" % (h, len(seen[h]), sync, want, seen[h].get(want)))
    assert seen[h].get(want, 0) > 0, "node-%d: no run.bursts point for %s" % (h, want)
common = set(seen[1]) & set(seen[2])
print("run starts exported by both hosts: %d" % len(common))
assert len(common) >= 3
PY
ok "two hosts' runs aligned slot for slot; merge finds simultaneous bursts, none when alternating, and incast no host shows"
