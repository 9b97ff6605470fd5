#!/usr/bin/env bash
# probes.drops with real drops in the receiver's namespace, counted by
# reason name (read from the kernel's BTF):
#   1. datagrams to a closed UDP port           -> NO_SOCKET, exactly
#   2. a UDP socket whose receive buffer fills  -> SOCKET_RCVBUFF, sent - queued
#   3. a ping socket whose queue fills with echo replies
#                                               -> hostlat.socket.rcvqueue_full
#      (the refused replies are SOCKET_RCVBUFF drops too)
# Twice: without group_by (the kernel counts in a per-CPU array indexed by
# reason) and with group_by: [cgroup] (a per-CPU hash keyed by cgroup too).
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

netns_pair dsnd drcv
ip netns exec "$NS_B" sysctl -qw net.ipv4.ping_group_range="0 0"
NO_SOCKET_N=50
FILL_N=200
RAW_N=100

# drops_round GROUP_BY: the three kinds of drops counted with that group_by.
drops_round() {
rm -f "$TMP/metrics.jsonl" "$TMP/go-sink"
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  drops:
    network_namespace: /var/run/netns/$NS_B
    group_by: [$1]
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" drops
"$HOSTLAT" --config "$TMP/hostlat.yaml" --check >"$TMP/check.txt" || fail "--check failed"
cat "$TMP/check.txt"
grep -q "skb drops *tp_btf/kfree_skb" "$TMP/check.txt" || fail "--check does not show the kfree_skb hook"
start_agent "$TMP/hostlat.yaml"

# 1. closed port
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7001 $NO_SOCKET_N

# 2. a full UDP receive buffer
start_listener sink ip netns exec "$NS_B" "$PY" tests/tools/stall.py sink 7002 2048 "$TMP/go-sink"
SINK=$LISTENER_PID
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7002 $FILL_N 1000
touch "$TMP/go-sink"
wait "$SINK"
queued=$(awk '/queued/ {print $2}' "$TMP/sink.out")
echo "UDP sink: $queued of $FILL_N datagrams queued"
[ "$queued" -gt 0 ] && [ "$queued" -lt "$FILL_N" ] || fail "the sink's buffer did not fill ($queued)"

# 3. a full ping socket (datagram ICMP) queue: B pings A and reads nothing
ip netns exec "$NS_B" "$PY" tests/tools/stall.py pingfill 198.18.0.1 $RAW_N 2048 >"$TMP/ping.out"
raw_queued=$(awk '/queued/ {print $2}' "$TMP/ping.out")
echo "ping socket: $raw_queued of $RAW_N replies queued"
[ "$raw_queued" -gt 0 ] && [ "$raw_queued" -lt "$RAW_N" ] || fail "the ping socket's queue did not fill ($raw_queued)"

# Every drop happened before the export after the next: that one counts them all.
n=$(count_lines "$TMP/metrics.jsonl")
wait_for 20 lines_at_least $((n + 2)) "$TMP/metrics.jsonl" || fail "the agent stopped exporting"
stop_agent

"$PY" - "$TMP/metrics.jsonl" $NO_SOCKET_N $((FILL_N - queued + RAW_N - raw_queued)) \
	$((RAW_N - raw_queued)) <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points

path, no_socket, rcvbuff, rcvq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
req = last_request(path)
drops = {}
for a, dp in points(req, "hostlat.skb.drops"):
    drops[a["reason"]] = drops.get(a["reason"], 0) + int(dp["asInt"])
full = sum(int(dp["asInt"]) for _, dp in points(req, "hostlat.socket.rcvqueue_full"))
lost = sum(int(dp["asInt"]) for _, dp in points(req, "hostlat.drops.lost"))
print("skb drops:", drops)
print("rcvqueue_full:", full, "lost:", lost)
for name, want in (("NO_SOCKET", no_socket), ("SOCKET_RCVBUFF", rcvbuff)):
    if drops.get(name) != want:
        sys.exit("%s: %s drops, want %d" % (name, drops.get(name), want))
if full != rcvq:
    sys.exit("rcvqueue_full: %d, want %d" % (full, rcvq))
if lost:
    sys.exit("events lost: %d" % lost)
if any(not r or r.startswith("REASON_") for r in drops):
    sys.exit("a reason without a name: %s" % sorted(drops))
PY
}

drops_round ""
ok "drops counted by reason name"
drops_round cgroup
ok "drops counted by reason name with group_by: [cgroup]"
