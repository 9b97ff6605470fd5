#!/usr/bin/env bash
# Filters and group-by, done in the kernel, with real traffic:
#  1. group_by [interface, cgroup] from the root namespace over every
#     namespace: series carry the receiving veth's own name (not whatever
#     that ifindex means in the agent's namespace) and the reader's cgroup.
#  2. the agent inside the receiver's namespace (network_namespace: host)
#     with interfaces: [veth] and pids: [one reader]: only that reader's
#     reads over the veth count; another reader and loopback reads do not.
source "$(dirname "$0")/../lib.sh"
need_root
netns_pair fsnd frcv
CG_MNT=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[ -n "$CG_MNT" ] || skip "no cgroup v2 mount"
CG_REL=hostlat-test-$HL_ID
mkdir "$CG_MNT/$CG_REL"
# Removable once its processes are gone (they are killed just before).
on_exit "for i in \$(seq 20); do rmdir $CG_MNT/$CG_REL && break; sleep 0.1; done"

# server NAME PORT [CGROUP]: a delayed-read TCP server in the receiver's namespace.
server() {
	local name=$1 port=$2 cg=${3:-}
	start_listener "$name" ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py servemany "$port" 2
	eval "${name}_PID=$LISTENER_PID"
	# From here: inside 'ip netns exec' /sys is remounted without the cgroup mounts.
	[ -z "$cg" ] || echo "$LISTENER_PID" >"$CG_MNT/$cg/cgroup.procs"
}

lat_points() { # lat_points FILE: "stage|iface|cgroup|count" per latency point of the last request
	"$PY" - "$1" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
for a, dp in points(last_request(sys.argv[1]), "hostlat.stack.latency"):
    print("%s|%s|%s|%s" % (a["stage"], a.get("network.interface.name", ""), a.get("cgroup.path", ""), dp["count"]))
PY
}

# ---- 1. group by interface and cgroup ----
cat >"$TMP/group.yaml" <<YAML
agent: { interval: 1s }
probes:
  stack_latency:
    group_by: [interface, cgroup]
    filters: { network_namespace: all }
  traffic: { store: { dir: $TMP/traffic } }
exporters:
  - { type: stdout, format: json, output: $TMP/group.jsonl }
YAML
start_agent "$TMP/group.yaml"
server s1 5001 "$CG_REL"
ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 5001 20 || fail "client failed"
sleep 1.5
stop_agent
lat_points "$TMP/group.jsonl" | tee "$TMP/group.txt"
grep -qx "tcp-socket-read|$VETH_B|/$CG_REL|20" "$TMP/group.txt" ||
	fail "no tcp-socket-read series for interface $VETH_B and cgroup /$CG_REL with 20 reads"
grep -q "^ip-start|$VETH_B||" "$TMP/group.txt" || fail "no ip-start series named $VETH_B"
grep -q "^ip-start|$VETH_A||" "$TMP/group.txt" || fail "no ip-start series named $VETH_A (the replies)"
ok "group_by interface and cgroup"
kill "$s1_PID"

# ---- 2. interface and pid filters, agent inside the receiver's namespace ----
cat >"$TMP/filter.yaml" <<YAML
agent: { interval: 1s }
probes:
  stack_latency:
    stages: [tcp-socket-read]
    filters: { network_namespace: host, interfaces: [$VETH_B], pids: [PID1] }
exporters:
  - { type: stdout, format: json, output: $TMP/filter.jsonl }
YAML
only_probes "$TMP/filter.yaml" stack_latency
server s2 5002
server s3 5003
sed -i "s/PID1/$s2_PID/" "$TMP/filter.yaml"
: >"$TMP/agent.err"
AGENT_NETNS=$NS_B start_agent "$TMP/filter.yaml"
ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 5002 15 || fail "client s2 failed"
ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 5003 9 || fail "client s3 failed"
# The same reader over loopback: right pid, wrong interface.
ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py client 127.0.0.1 5002 7 || fail "loopback client failed"
sleep 1.5
stop_agent
lat_points "$TMP/filter.jsonl" | tee "$TMP/filter.txt"
grep -qx "tcp-socket-read|||15" "$TMP/filter.txt" ||
	fail "want exactly the 15 reads of pid $s2_PID over $VETH_B"
ok "interface and pid filters"
