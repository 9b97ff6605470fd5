#!/usr/bin/env bash
# HOL-blocked TCP reads (bpf/sockstate.h). A TCP stream between two network
# namespaces loses 10% of its data segments, retransmissions included; the
# sender has neither SACK nor RACK, so many holes are only filled by a
# retransmission timeout (>= 200 ms). The receiver reads 4 KiB at a time
# and records each read's own ground truth (now - its SO_TIMESTAMPNS stamp).
#  1. Default (include_hol_blocked: false): although the ground truth has
#     reads of 200 ms or more, the agent records no tcp-socket-read sample
#     of 200 ms or more, and counts hostlat.probe.dropped{reason=hol_blocked}.
#  2. include_hol_blocked: true: such samples are there, about as many as
#     the ground truth's reads of 200 ms or more.
# The loss is a drop on the receiver's input: a drop on the sender's own
# output is a local transmit error that TCP retries at once, not a loss.
# Timing in the QEMU guests is inflated: the assertions are on function.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
netns_pair hsnd hrcv
PORT=6011
SECS=${HOL_SECONDS:-5}

if command -v nft >/dev/null; then
	ip netns exec "$NS_B" nft -f - <<NFT || fail "cannot add the nftables loss rule"
table inet hlloss {
	chain input {
		type filter hook input priority 0;
		tcp dport $PORT meta length > 200 numgen random mod 100 < 10 drop
	}
}
NFT
elif command -v iptables >/dev/null; then
	ip netns exec "$NS_B" iptables -A INPUT -p tcp --dport "$PORT" -m length --length 200:65535 \
		-m statistic --mode random --probability 0.1 -j DROP ||
		fail "cannot add the iptables loss rule (statistic match)"
else
	skip "neither nft nor iptables to drop packets"
fi
# Recovery by timeouts: no SACK, no RACK on the sender.
ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_sack=0 net.ipv4.tcp_recovery=0 ||
	fail "cannot turn SACK and RACK off in the sender's namespace"

# run NAME INCLUDE: one agent run over one lossy stream; leaves $TMP/NAME.jsonl
# (the agent's last export) and $TMP/NAME.gt (the receiver's ground truth).
run() {
	local name=$1 include=$2 lines
	cat >"$TMP/$name.yaml" <<YAML
agent: { interval: 1s }
probes:
  stack_latency:
    stages: [tcp-socket-read]
    include_hol_blocked: $include
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - { type: stdout, format: json, output: $TMP/$name.jsonl }
YAML
	only_probes "$TMP/$name.yaml" stack_latency
	start_agent "$TMP/$name.yaml"
	grep "tcp-socket-read via" "$TMP/agent.err" || fail "tcp-socket-read has no hook"
	# Loss is random: streams until the ground truth has 3 reads of 250 ms
	# or more (4 streams at most), above check's bound whatever the jitter.
	: >"$TMP/$name.gt"
	for try in 1 2 3 4; do
		start_listener "$name-recv" ip netns exec "$NS_B" "$PY" tests/tools/sockread.py recv \
			"$PORT" "$TMP/$name-$try.gt" 4096
		ip netns exec "$NS_A" "$PY" tests/tools/sockread.py send 198.18.0.2 "$PORT" 1024 "$SECS" ||
			fail "sender failed"
		wait "$LISTENER_PID" || fail "receiver failed"
		echo "stream $try: $(cat "$TMP/$name-recv.out" | tail -n 1)"
		cat "$TMP/$name-$try.gt" >>"$TMP/$name.gt"
		[ "$(awk '$1 >= 250000000' "$TMP/$name.gt" | wc -l)" -lt 3 ] || break
	done
	# Two more exports after the last read: the last one holds every read.
	lines=$(count_lines "$TMP/$name.jsonl")
	wait_for 30 lines_at_least $((lines + 2)) "$TMP/$name.jsonl" || fail "the agent stopped exporting"
	stop_agent
}

# check NAME: prints "GT AGENT HOL MAX": ground-truth reads >= B, agent
# samples >= B, the hol_blocked count, the agent's largest sample (s);
# B: the first bucket bound at or above 200 ms.
check() {
	"$PY" - "$TMP/$1.jsonl" "$TMP/$1.gt" <<'PY'
import math, sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, check_invariants
req = last_request(sys.argv[1])
lat = [dp for a, dp in points(req, "hostlat.stack.latency") if a["stage"] == "tcp-socket-read"]
hol = sum(int(dp["asInt"]) for a, dp in points(req, "hostlat.probe.dropped")
          if a["stage"] == "tcp-socket-read" and a["reason"] == "hol_blocked")
agent, top = 0, 0.0
scale = 3
if lat:
    dp = lat[0]
    check_invariants(dp)
    scale = int(dp["scale"])
    base = 2 ** (2 ** -scale)
    pos = dp.get("positive", {"offset": 0, "bucketCounts": []})
    k0 = math.ceil(math.log(0.2, base))  # first bucket whose lower bound >= 200 ms
    for k, c in enumerate(pos["bucketCounts"]):
        i = pos["offset"] + k
        if int(c):
            top = max(top, base ** (i + 1))
        if i >= k0 and int(c):
            agent += int(c)
    if "max" in dp:
        top = float(dp["max"])
base = 2 ** (2 ** -scale)
bound = base ** math.ceil(math.log(0.2, base))
gt = sum(1 for l in open(sys.argv[2]) if int(l) >= bound * 1e9)
print(gt, agent, hol, top)
PY
}

# Python's first start can take seconds in an emulated guest (cold caches):
# not inside start_listener's 10 s.
ip netns exec "$NS_B" "$PY" tests/tools/sockread.py warm >/dev/null 2>&1 || true
run default false
read -r GT AGENT HOL MAX <<<"$(check default)"
echo "default: ground truth reads >= 200 ms: $GT; agent samples >= 200 ms: $AGENT (largest ${MAX}s); hol_blocked: $HOL"
[ "$GT" -gt 0 ] || fail "no read waited 200 ms or more: the loss caused no retransmission timeout"
[ "$HOL" -gt 0 ] || fail "no read was counted as hol_blocked"
[ "$AGENT" -eq 0 ] || fail "$AGENT tcp-socket-read samples of 200 ms or more with include_hol_blocked: false"
"$PY" -c "import sys; sys.exit(0 if float('$MAX') < 0.2 else 1)" ||
	fail "the largest tcp-socket-read sample is ${MAX}s with include_hol_blocked: false"
ok "HOL-blocked reads excluded: none of the $GT reads of 200 ms or more recorded, $HOL counted hol_blocked"

run include true
read -r GT AGENT HOL MAX <<<"$(check include)"
echo "include: ground truth reads >= 200 ms: $GT; agent samples >= 200 ms: $AGENT (largest ${MAX}s); hol_blocked: $HOL"
[ "$GT" -gt 0 ] || fail "no read waited 200 ms or more: the loss caused no retransmission timeout"
[ "$HOL" -eq 0 ] || fail "$HOL reads counted hol_blocked with include_hol_blocked: true"
# The same reads, the same stamps; "now" differs by a syscall's return.
[ "$AGENT" -ge $((GT * 3 / 4 - 2)) ] && [ "$AGENT" -le $((GT * 5 / 4 + 2)) ] ||
	fail "agent samples >= 200 ms ($AGENT) do not match the ground truth's reads ($GT)"
ok "include_hol_blocked: $AGENT samples of 200 ms or more, ground truth $GT"
