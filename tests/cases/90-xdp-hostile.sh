#!/usr/bin/env bash
# probes.xdp_responder against frames it must not answer, crafted as raw
# Ethernet by tests/tools/xdp_peer.py (independently of hostlat's C code),
# each a request that differs from a valid one in one thing:
#   - to a broadcast, multicast or another host's MAC; to 255.255.255.255,
#     the subnet broadcast, 224.0.0.1, ff02::1 or another host's IP
#   - IP headers it does not answer (version, length, options, fragment,
#     header checksum), TTL / hop limit 0, a bad UDP checksum (or none over
#     IPv6), source port 0, a source no reply may go to (a v4-mapped IPv6
#     source under an IPv4 allow entry, multicast)
# For each: no reply, its `result` counter grew by exactly the number sent
# and no other did, and a valid request sent right after is answered with
# correct checksums and addresses. Valid requests with no checksum (IPv4)
# or one left to offload are answered. Not answered frames reach the stack
# (XDP_PASS: its checksum counters see the bad ones). Addresses and MAC
# the interface gets while the agent runs are answered for from the next
# interval, and removed ones no longer.
source "$(dirname "$0")/../lib.sh"
need_root

netns_pair hcli hsrv
PORT=7501
N=3
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 200ms }
probes:
  xdp_responder:
    enabled: true
    interface: $VETH_B
    mode: generic
    port: $PORT
    allow: [0.0.0.0/0, "2001:db8::/64"]
    rate_limit: 0
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" xdp_responder
AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"
grep "xdp_responder" "$TMP/agent.err"
MAC_B=$(ip netns exec "$NS_B" cat "/sys/class/net/$VETH_B/address")

peer() { # CASE COUNT [KEY=VALUE...]: the frames and a valid request; prints "replies N bad M"
	ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py hostile "$VETH_A" "$MAC_B" $PORT "$@"
}
results() { "$PY" tests/tools/xdp_peer.py results "$TMP/metrics.jsonl" 2>/dev/null; }
declare -A want
for r in answered refused rate_limited malformed not_unicast foreign_mac bad_header not_local \
	bad_source ttl_zero source_port_zero bad_checksum; do
	want[$r]=0
done
expected() { for r in "${!want[@]}"; do echo "$r=${want[$r]}"; done | sort | tr '\n' ' ' | sed 's/ $//'; }
# An export that holds the valid request just answered (the peer's frames
# were handled before it).
exported() { [[ " $(results) " == *" answered=${want[answered]} "* ]]; }
csum_errors() {
	ip netns exec "$NS_B" nstat -asz UdpInCsumErrors Udp6InCsumErrors | awk '/Csum/ {s += $2} END {print s + 0}'
}

# CASE RESULT: N frames of CASE, counted under RESULT (answered: replied to).
check() {
	local case=$1 result=$2 out have
	out=$(peer "$case" $N) || fail "$case: $out"
	if [ "$result" = answered ]; then
		[ "$out" = "replies $N bad 0" ] || fail "$case: $out, want $N correct replies"
	else
		[ "$out" = "replies 0 bad 0" ] || fail "$case frames were answered: $out"
	fi
	want[$result]=$((want[$result] + N))
	want[answered]=$((want[answered] + 1)) # the valid request after them
	wait_for 10 exported || fail "$case: no export with answered=${want[answered]}: $(results)"
	have=$(results)
	[ "$have" = "$(expected)" ] || fail "$case: counters $have, want $(expected)"
	echo "$case: $result +$N"
}

csum_before=$(csum_errors)
check valid answered
check valid6 answered
check no_checksum answered
check offload_checksum answered
check offload_checksum6 answered
check broadcast_mac not_unicast
check multicast_mac not_unicast
check foreign_mac foreign_mac
check limited_broadcast not_local
check subnet_broadcast not_local
check all_hosts not_local
check all_nodes6 not_local
check foreign_ip not_local
check foreign_ip6 not_local
check version bad_header
check version6 bad_header
check short_header bad_header
check options bad_header
check fragment bad_header
check long_length bad_header
check long_length6 bad_header
check ip_checksum bad_header
check ttl_zero ttl_zero
check hop_limit_zero ttl_zero
check source_port_zero source_port_zero
check mapped_source6 bad_source
check multicast_source bad_source
check multicast_source_mac bad_source
check bad_checksum bad_checksum
check bad_checksum6 bad_checksum
check zero_checksum6 bad_checksum
ok "no hostile frame answered, each counted under its result: $(expected)"
# Passed, not dropped: the stack saw the 3 x N bad checksums itself.
[ $(($(csum_errors) - csum_before)) = $((3 * N)) ] ||
	fail "the stack counted $(($(csum_errors) - csum_before)) bad UDP checksums, want $((3 * N))"
ok "unanswered frames went on to the stack"

# The interface's addresses and MAC as they change: refreshed every interval.
answered_at() { [ "$(peer valid 1 "$1")" = "replies 1 bad 0" ]; }
not_answered_at() { [ "$(peer valid 1 "$1")" = "replies 0 bad 0" ]; }
not_answered_at dst=198.18.0.9 || fail "198.18.0.9 answered before the interface has it"
ip -n "$NS_B" addr add 198.18.0.9/24 dev "$VETH_B"
wait_for 10 answered_at dst=198.18.0.9 || fail "an address added to $VETH_B is not answered for"
ip -n "$NS_B" addr del 198.18.0.9/24 dev "$VETH_B"
wait_for 10 not_answered_at dst=198.18.0.9 || fail "an address removed from $VETH_B is still answered for"
OLD_MAC=$MAC_B
MAC_B=02:00:00:00:00:42
ip -n "$NS_B" link set dev "$VETH_B" address $MAC_B
# (the valid request after each attempt goes to the new MAC too: no reply
# until the program has it)
wait_for 10 peer valid 1 wait=0.3 >/dev/null 2>&1 || fail "the new MAC of $VETH_B is not answered for"
not_answered_at dst_mac=$OLD_MAC || fail "the old MAC of $VETH_B is still answered for"
ok "addresses and MAC followed at run time"
stop_agent
