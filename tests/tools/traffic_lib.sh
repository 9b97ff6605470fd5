# Helpers of the traffic-sampling tests (sourced after tests/lib.sh).

traffic_prereqs() {
	need_root
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
}

# start_agent_in NS CONFIG: the agent (ASan build) inside network namespace NS.
start_agent_in() { AGENT_NETNS=$1 start_agent "$2"; }

# static_neighbours: permanent neighbour entries on the veth pair (IPv4 and
# IPv6): no ARP or ND, and no datagram waits for (or is lost to) resolution.
static_neighbours() {
	local mac_a mac_b
	mac_a=$(ip netns exec "$NS_A" cat "/sys/class/net/$VETH_A/address")
	mac_b=$(ip netns exec "$NS_B" cat "/sys/class/net/$VETH_B/address")
	ip -n "$NS_A" neigh replace 198.18.0.2 lladdr "$mac_b" dev "$VETH_A" nud permanent
	ip -n "$NS_B" neigh replace 198.18.0.1 lladdr "$mac_a" dev "$VETH_B" nud permanent
	ip -n "$NS_A" neigh replace 2001:db8::2 lladdr "$mac_b" dev "$VETH_A" nud permanent 2>/dev/null || true
	ip -n "$NS_B" neigh replace 2001:db8::1 lladdr "$mac_a" dev "$VETH_B" nud permanent 2>/dev/null || true
}

# quiet_link: static neighbours and no IPv6 (router solicitations, MLD
# reports) on the veth pair: only the test's packets cross it.
quiet_link() {
	static_neighbours
	ip netns exec "$NS_A" sysctl -qw "net.ipv6.conf.$VETH_A.disable_ipv6=1"
	ip netns exec "$NS_B" sysctl -qw "net.ipv6.conf.$VETH_B.disable_ipv6=1"
}

# start_sink NS PORT: a UDP receiver that drains PORT (IPv4 and IPv6) in NS.
start_sink() { start_listener "sink-$1-$2" ip netns exec "$1" "$PY" tests/tools/traffic_gen.py sink "$2"; }

# wait_runs N: wait until the agent has stored N runs.
wait_runs() {
	wait_for "${2:-60}" sh -c "[ \$(ls '$TMP/store' 2>/dev/null | grep -c '^hostlat-traffic-') -ge $1 ]" ||
		fail "fewer than $1 stored runs"
}

# only_traffic CONFIG: turn off every probe but traffic in CONFIG.
only_traffic() { only_probes "$1" traffic; }
