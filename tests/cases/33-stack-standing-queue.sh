#!/usr/bin/env bash
# Standing socket queues (probes.stack_latency.standing_queue, CoDel's rule
# per socket at the reads, bpf/sockstate.h). One sender writes the same
# steady stream to two TCP connections; each receiver runs in a cgroup of
# its own. One keeps up (reads up to 256 KiB at a time: each read empties
# the queue); the other falls behind for 200 ms every second (stops reading,
# then catches up 2 KiB per read; a 4 KiB receive buffer). With target 5ms
# and interval 50ms only the second one's cgroup shows episodes, each
# lasting about the 200 ms stall; the first has none. In the QEMU guests
# (software emulation) both readers also stall now and then for tens of
# milliseconds: there the first may show episodes too, fewer and fewer long.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
CG_MNT=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[ -n "$CG_MNT" ] || skip "no cgroup v2 mount"
netns_pair qsnd qrcv
SECS=${SQ_SECONDS:-6}
CG_OK=hostlat-sq-ok-$HL_ID
CG_LAG=hostlat-sq-lag-$HL_ID
for cg in "$CG_OK" "$CG_LAG"; do
	mkdir "$CG_MNT/$cg"
	# Removable once its processes are gone (they are killed just before).
	on_exit "for i in \$(seq 50); do rmdir $CG_MNT/$cg && break; sleep 0.1; done"
done

cat >"$TMP/sq.yaml" <<YAML
agent: { interval: 1s }
probes:
  stack_latency:
    stages: [tcp-socket-read]
    group_by: [cgroup]
    standing_queue: { target: 5ms, interval: 50ms }
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - { type: stdout, format: json, output: $TMP/sq.jsonl }
YAML
only_probes "$TMP/sq.yaml" stack_latency
"$HOSTLAT" --config "$TMP/sq.yaml" --check >"$TMP/check.txt" || {
	cat "$TMP/check.txt"
	fail "--check failed"
}
# Every read stage with the rule on loads (udp-socket-read too, where this
# kernel has a hook for it: the traffic below is TCP).
sed 's/stages: \[tcp-socket-read\]/stages: [tcp-socket-read, udp-socket-read]/' "$TMP/sq.yaml" \
	>"$TMP/sq-udp.yaml"
"$HOSTLAT" --config "$TMP/sq-udp.yaml" --check >"$TMP/check-udp.txt" || {
	cat "$TMP/check-udp.txt"
	fail "--check with udp-socket-read failed"
}
grep "udp-socket-read" "$TMP/check-udp.txt"
# Python's first start can take seconds in an emulated guest (cold caches):
# not inside start_listener's 10 s.
ip netns exec "$NS_B" "$PY" tests/tools/sockread.py warm >/dev/null 2>&1 || true
start_agent "$TMP/sq.yaml"
grep "tcp-socket-read via" "$TMP/agent.err" || fail "tcp-socket-read has no hook"

# receiver NAME PORT CGROUP ARGS...: sockread.py recv in NS_B, moved into CGROUP.
receiver() {
	local name=$1 port=$2 cg=$3
	shift 3
	start_listener "$name" ip netns exec "$NS_B" "$PY" tests/tools/sockread.py recv "$port" \
		"$TMP/$name.gt" "$@"
	eval "${name}_PID=$LISTENER_PID"
	# Before any data: every read runs in the cgroup.
	echo "$LISTENER_PID" >"$CG_MNT/$cg/cgroup.procs" || fail "cannot move $name into $cg"
}
receiver ok 6021 "$CG_OK" 262144
receiver lag 6022 "$CG_LAG" 2048 1000 200 4096

ip netns exec "$NS_A" "$PY" tests/tools/sockread.py send 198.18.0.2 6021 1024 "$SECS" &
S1=$!
ip netns exec "$NS_A" "$PY" tests/tools/sockread.py send 198.18.0.2 6022 1024 "$SECS" &
S2=$!
wait "$S1" || fail "sender 1 failed"
wait "$S2" || fail "sender 2 failed"
wait "$ok_PID" || fail "receiver ok failed"
wait "$lag_PID" || fail "receiver lag failed"
echo "keeps up:     $(cat "$TMP/ok.out" | tail -n 1)"
echo "falls behind: $(cat "$TMP/lag.out" | tail -n 1)"
lines=$(count_lines "$TMP/sq.jsonl")
wait_for 30 lines_at_least $((lines + 2)) "$TMP/sq.jsonl" || fail "the agent stopped exporting"
stop_agent

# Per cgroup: "CGROUP EPISODES ENDED LONG MAX_S", LONG: ended episodes of
# 100 ms or more (buckets whose lower bound is at least that).
"$PY" - "$TMP/sq.jsonl" <<'PY' | tee "$TMP/sq.txt"
import math, sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, check_invariants
req = last_request(sys.argv[1])
rows = {}
for a, dp in points(req, "hostlat.stack.standing_queue.episodes"):
    assert a["stage"] == "tcp-socket-read", a
    rows.setdefault(a.get("cgroup.path", ""), [0, 0, 0, 0.0])[0] = int(dp["asInt"])
for a, dp in points(req, "hostlat.stack.standing_queue.duration"):
    check_invariants(dp)
    r = rows.setdefault(a.get("cgroup.path", ""), [0, 0, 0, 0.0])
    r[1] = int(dp["count"])
    r[3] = float(dp.get("max", 0))
    base = 2 ** (2 ** -int(dp["scale"]))
    pos = dp.get("positive", {"offset": 0, "bucketCounts": []})
    k0 = math.ceil(math.log(0.1, base))
    r[2] = sum(int(c) for k, c in enumerate(pos["bucketCounts"]) if pos["offset"] + k >= k0)
for cg, (e, n, long_, mx) in sorted(rows.items()):
    print(cg or "-", e, n, long_, mx)
PY
lag=$(grep "^/$CG_LAG " "$TMP/sq.txt" || true)
okrow=$(grep "^/$CG_OK " "$TMP/sq.txt" || true)
[ -n "$lag" ] || fail "no standing-queue series for the reader that falls behind (/$CG_LAG)"
read -r _ EP N LONG MAX <<<"$lag"
echo "falls behind (/$CG_LAG): $EP episodes, $N ended, $LONG of 100 ms or more, longest ${MAX}s"
[ "$EP" -ge 2 ] || fail "want an episode per stall (about $SECS), got $EP"
# Each stall is 200 ms; an episode is dated from the stamp of the first skb
# read after it (its receive buffer is small: TCP cannot coalesce the
# stall's segments into skbs stamped with their newest one), to the read
# that catches up: at least half the stall for all but the first and last
# stall. In the emulated guests the slow reader also has short episodes
# of its own between stalls.
[ "$LONG" -ge $((SECS / 2)) ] || fail "want an episode of 100 ms or more per stall, got $LONG"
if [ -n "$okrow" ]; then
	read -r _ EP2 N2 _ _ <<<"$okrow"
	echo "keeps up (/$CG_OK): $EP2 episodes, $N2 ended"
	if [ -n "${HOSTLAT_GUEST_OUT:-}" ]; then
		read -r _ _ _ LONG2 _ <<<"$okrow"
		# Emulated and busy, the reader that keeps up can itself run
		# 40 ms between reads for a while (an episode of 100 ms or more):
		# it still shows fewer episodes, and fewer than half as many long
		# ones, as the reader that stops 200 ms every second.
		[ "$EP2" -lt "$EP" ] && [ $((2 * LONG2)) -lt "$LONG" ] ||
			fail "the reader that keeps up shows $EP2 episodes, $LONG2 of 100 ms or more (the one that falls behind: $EP, $LONG)"
	else
		[ "$EP2" -eq 0 ] && [ "$N2" -eq 0 ] || fail "the reader that keeps up shows $EP2 episodes"
	fi
else
	echo "keeps up (/$CG_OK): no standing-queue series (no episode)"
fi
ok "standing queues: $EP episodes ($LONG of 100 ms or more) for the reader that falls behind, none for the one that keeps up"

# ---- UDP, where udp-socket-read has a hook (not on kernels without
# trampolines and kprobes): a reader in the same cgroup that stops for
# 200 ms every second while datagrams arrive steadily.
if ! grep -q "^udp-socket-read *yes *none" "$TMP/check-udp.txt"; then
	sed -i 's/stages: \[tcp-socket-read\]/stages: [udp-socket-read]/' "$TMP/sq.yaml"
	sed -i "s|output: $TMP/sq.jsonl|output: $TMP/sq-udp.jsonl|" "$TMP/sq.yaml"
	start_agent "$TMP/sq.yaml"
	grep "udp-socket-read via" "$TMP/agent.err" || fail "udp-socket-read has no hook"
	receiver_udp() {
		start_listener udp ip netns exec "$NS_B" "$PY" tests/tools/sockread.py udprecv 6023 1000 200
		echo "$LISTENER_PID" >"$CG_MNT/$CG_LAG/cgroup.procs" || fail "cannot move the UDP reader"
	}
	receiver_udp
	ip netns exec "$NS_A" "$PY" tests/tools/sockread.py udpsend 198.18.0.2 6023 500 "$SECS" ||
		fail "UDP sender failed"
	wait "$LISTENER_PID" || fail "UDP receiver failed"
	cat "$TMP/udp.out"
	lines=$(count_lines "$TMP/sq-udp.jsonl")
	wait_for 30 lines_at_least $((lines + 2)) "$TMP/sq-udp.jsonl" || fail "the agent stopped exporting"
	stop_agent
	read -r UEP ULONG <<<"$("$PY" - "$TMP/sq-udp.jsonl" <<'PY'
import math, sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
req = last_request(sys.argv[1])
ep = sum(int(dp["asInt"]) for a, dp in points(req, "hostlat.stack.standing_queue.episodes")
         if a["stage"] == "udp-socket-read")
long_ = 0
for a, dp in points(req, "hostlat.stack.standing_queue.duration"):
    if a["stage"] != "udp-socket-read":
        continue
    base = 2 ** (2 ** -int(dp["scale"]))
    pos = dp.get("positive", {"offset": 0, "bucketCounts": []})
    k0 = math.ceil(math.log(0.1, base))
    long_ += sum(int(c) for k, c in enumerate(pos["bucketCounts"]) if pos["offset"] + k >= k0)
print(ep, long_)
PY
)"
	echo "UDP reader that falls behind: $UEP episodes, $ULONG of 100 ms or more"
	[ "$ULONG" -ge $((SECS / 2)) ] || fail "want a UDP episode of 100 ms or more per stall, got $ULONG"
	ok "standing queues at udp-socket-read: $UEP episodes, $ULONG of 100 ms or more"
fi
