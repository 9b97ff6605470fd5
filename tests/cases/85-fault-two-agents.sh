#!/usr/bin/env bash
# Two agents on one host coexist (by design: every program is attached
# through its own bpf_link, tcx links stack, and each agent has its own maps):
# both run every probe, sample the same interface, and each counts every
# socket read of the traffic exactly; stopping one leaves the other counting,
# and once both are gone nothing of theirs is left on the interface.
source "$(dirname "$0")/40-otlp-common.sh" # traffic helpers; no receiver here

start_traffic_server 1
for i in 1 2; do
	cat >"$TMP/hostlat$i.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency: { filters: { network_namespace: host } }
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 1000
    every: 1s
    link_speed: 1000
    store: { dir: $TMP/store$i }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics$i.jsonl }
YAML
	ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/hostlat$i.yaml" >"$TMP/agent$i.out" 2>"$TMP/agent$i.err" &
	eval "PID$i=$!"
	on_exit "kill -9 $!"
done
for i in 1 2; do
	wait_for 30 grep -q running "$TMP/agent$i.err" || { cat "$TMP/agent$i.err" >&2; fail "agent $i did not start"; }
	grep -q "via tcx" "$TMP/agent$i.err" || fail "agent $i: traffic not on tcx: $(grep traffic "$TMP/agent$i.err")"
done
echo "agent 1: $(agent_prog_ids "$PID1" | wc -w) programs; agent 2: $(agent_prog_ids "$PID2" | wc -w) programs"

reads() { # FILE: tcp-socket-read count in the last batch
	TMP=$TMP "$PY" - "$1" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import stdout_lines, stdout_points
print(stdout_points(stdout_lines(sys.argv[1])[-1], "hostlat.stack.latency", "count").get("tcp-socket-read", 0))
PY
}
traffic 20
sleep 2.5
r1=$(reads "$TMP/metrics1.jsonl")
r2=$(reads "$TMP/metrics2.jsonl")
echo "both running: agent 1 counted $r1 reads, agent 2 $r2"
[ "$r1" = 20 ] && [ "$r2" = 20 ] || fail "each agent must count the 20 reads: $r1, $r2"
for i in 1 2; do
	grep -q '"hostlat.traffic.sample.bytes"' "$TMP/metrics$i.jsonl" || fail "agent $i has no traffic samples"
done

kill -TERM "$PID1"
wait "$PID1" || fail "agent 1 did not stop cleanly"
traffic 10
sleep 2.5
r2=$(reads "$TMP/metrics2.jsonl")
echo "agent 1 stopped: agent 2 counted $r2 reads"
[ "$r2" = 30 ] || fail "agent 2 must go on counting after agent 1 stopped: $r2"
kill -TERM "$PID2"
wait "$PID2" || fail "agent 2 did not stop cleanly"
left=$(ip netns exec "$NS_B" tc qdisc show dev "$VETH_B" | grep -c clsact || true)
[ "$left" = 0 ] || fail "a clsact qdisc was left on $VETH_B"
ok "two agents coexist: each counts everything, one stopping does not disturb the other"
