#!/usr/bin/env bash
# The XDP responder's user-facing errors, each one clear message with the
# documented exit status: its config keys (FILE:LINE:COLUMN), what the host
# refuses at start (missing interface, no native XDP, an interface that
# already has a program), and `hostlat ping` / `hostlat respond` usage.
source "$(dirname "$0")/../lib.sh"

n=0
bad() { # bad YAML EXPECTED: --check exits 2 with "FILE:EXPECTED" on one line
	local f=$TMP/bad$n.yaml
	n=$((n + 1))
	printf '%b' "$1" >"$f"
	expect 2 "^hostlat: error: config: $f:$2" "$HOSTLAT" --config "$f" --check
	[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "more than one line"
}
X='probes:\n  xdp_responder:\n    enabled: true\n'
bad "${X}    allow: [10.0.0.0/8]\n" "3:14: the XDP responder is enabled but names no interface \(key 'probes.xdp_responder.interface'\)"
bad "${X}    interface: eth0\n" "3:14: the XDP responder is enabled but allows no source: .*0.0.0.0/0 and ::/0 allow everyone.*\(key 'probes.xdp_responder.allow'\)"
bad "${X}    interface: eth0\n    allow: []\n" "5:12: the XDP responder is enabled but allows no source"
bad "${X}    interface: eth0\n    allow: [10.0.0.0/8, 10.1.2.3/8]\n" "5:25: '10.1.2.3/8': bits beyond the /8 prefix are set .*\(key 'probes.xdp_responder.allow'\)"
bad "${X}    interface: eth0\n    allow: [10.0.0.0/33]\n" "5:13: '10.0.0.0/33': the prefix length must be 0..32"
bad "${X}    interface: eth0\n    allow: [\"2001:db8::/129\"]\n" "5:13: '2001:db8::/129': the prefix length must be 0..128"
bad "${X}    interface: eth0\n    allow:\n      - monitors.example\n" "6:9: 'monitors.example' is not an address or network"
bad "${X}    interface: eth0\n    allow: [\"::/0\"]\n    port: 0\n" "6:11: .*out of range 1..65535 \(key 'probes.xdp_responder.port'\)"
bad "${X}    interface: eth0\n    allow: [\"::/0\"]\n    mode: offload\n" "6:11: unknown value 'offload'; valid values: native, generic"
bad "${X}    interface: averyveryverylongname\n    allow: [\"::/0\"]\n" "4:16: interface name 'averyveryverylongname' is longer than 15 characters"

# --check describes the responder without attaching anything.
printf "${X}    interface: lo\n    allow: [127.0.0.0/8, \"::1\"]\n    rate_limit: 100\n" >"$TMP/ok.yaml"
check_runs "$TMP/out" "$HOSTLAT" --config "$TMP/ok.yaml" --check
grep -q "probe xdp_responder: interface lo, UDP port 6946, native XDP, at most 100 responses/s, 2 allowed" "$TMP/out" &&
	grep -A2 "probe xdp_responder:" "$TMP/out" | grep -q "verified: loaded by this kernel (not attached by --check)" ||
	{ cat "$TMP/out"; fail "--check does not describe the responder"; }
! ip link show lo | grep -q xdp || fail "--check left an XDP program on lo"

expect 0 "Usage: hostlat ping" "$HOSTLAT" ping --help
expect 2 "which host" "$HOSTLAT" ping
expect 2 "one host only" "$HOSTLAT" ping 198.18.0.1 198.18.0.2
expect 2 "'198.18.0.1:99999' is not HOST, HOST:PORT or \[IPV6\]:PORT" "$HOSTLAT" ping 198.18.0.1:99999
expect 2 "is not HOST, HOST:PORT" "$HOSTLAT" ping "[2001:db8::1"
expect 2 "--interval wants a duration like 10ms or 1s \(at least 10us\), got '5'" "$HOSTLAT" ping -i 5 198.18.0.1
expect 2 "--timeout wants a duration" "$HOSTLAT" ping -W 0s 198.18.0.1
expect 2 "--count wants a positive number" "$HOSTLAT" ping -c -3 198.18.0.1
expect 2 "--source 'nowhere' is not an IP address" "$HOSTLAT" ping -I nowhere 198.18.0.1
expect 2 "^hostlat ping: no-such-host.invalid: " "$HOSTLAT" ping no-such-host.invalid
expect 0 "Usage: hostlat respond" "$HOSTLAT" respond --help
expect 2 "--port wants 1..65535" "$HOSTLAT" respond --port 0

need_root
# In namespaces of our own: nobody answering; failures at start.
netns_pair ccli csrv
expect 1 "3 requests sent, 0 replies, 100.0% lost" \
	ip netns exec "$NS_A" "$HOSTLAT" ping -c 3 -i 10ms -W 200ms 198.18.0.2
# A port that echoes datagrams back: the requests are not replies; said once, counted.
start_listener udp-echo ip netns exec "$NS_B" "$PY" -u -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 6946))
print("listening")
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)'
expect 1 "3 requests sent, 0 replies, 100.0% lost, 3 invalid datagrams ignored" \
	ip netns exec "$NS_A" "$HOSTLAT" ping -c 3 -i 10ms -W 200ms 198.18.0.2
[ "$(grep -c "^hostlat ping: ignoring a datagram from 198.18.0.2:6946: a request, not a reply" "$TMP/out")" = 1 ] ||
	{ cat "$TMP/out"; fail "want one line on why the echoed requests are ignored"; }

run_agent() { # run_agent NAME IFACE MODE: the agent with only the responder, in NS_B
	printf "agent: { interval: 1s }\n${X}    interface: $2\n    mode: $3\n    allow: [\"::/0\"]\n" >"$TMP/$1.yaml"
	only_probes "$TMP/$1.yaml" xdp_responder
}
run_agent missing nosuch0 generic
expect 1 "xdp_responder is off: no interface 'nosuch0' in the agent's network namespace" \
	ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/missing.yaml"
run_agent native lo native
expect 1 "the driver of lo cannot run XDP programs natively .*: set probes.xdp_responder.mode: generic" \
	ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/native.yaml"
ip -n "$NS_B" link show lo | grep -q "prog/xdp" && fail "lo was left with an XDP program"

# A second agent does not take over the first one's interface.
run_agent first "$VETH_B" generic
AGENT_NETNS=$NS_B start_agent "$TMP/first.yaml"
expect 1 "interface $VETH_B already has an XDP program .*hostlat does not replace it" \
	ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/first.yaml"
expect 0 "1 requests sent, 1 replies" ip netns exec "$NS_A" "$HOSTLAT" ping -c 1 198.18.0.2
stop_agent
