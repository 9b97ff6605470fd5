#!/usr/bin/env bash
# No user space on the responder's path: with the agent stopped (SIGSTOP)
# requests are still answered, the kernel counters in the replies still
# move, and only the agent's part grows old. Killed (SIGKILL), the agent
# leaves no XDP program behind.
source "$(dirname "$0")/../lib.sh"
need_root

netns_pair scli ssrv
PORT=7301
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 200ms }
probes:
  xdp_responder:
    enabled: true
    interface: $VETH_B
    mode: generic
    port: $PORT
    allow: [198.18.0.1/32]
    rate_limit: 0
YAML
only_probes "$TMP/hostlat.yaml" xdp_responder stack_latency
AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"

sleep 0.5
xdp_ping "$TMP/before" -c 1 "198.18.0.2:$PORT"
kill -STOP "$AGENT_PID"
on_exit "kill -CONT $AGENT_PID"
# SIGSTOP is delivered asynchronously: wait until the kernel shows it.
wait_for 10 grep -q '^State:.*stopped' /proc/"$AGENT_PID"/status || fail "the agent is not stopped"
sleep 2
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7302 25 100 0
xdp_ping "$TMP/during" -c 20 -i 10ms "198.18.0.2:$PORT"
tail -n 1 "$TMP/during"
grep -q '"sent":20,"received":20' "$TMP/during" || fail "requests lost while the agent is stopped"
grep -q '^State:.*stopped' /proc/"$AGENT_PID"/status || fail "the agent woke up"
kill -CONT "$AGENT_PID"

answered=$(($(env_val "$TMP/during" answered) - $(env_val "$TMP/before" answered)))
samples=$(($(env_val "$TMP/during" stack_events_ip_start) - $(env_val "$TMP/before" stack_events_ip_start)))
age=$(env_val "$TMP/during" user_age_ns)
echo "while stopped: answered +$answered, ip-start samples +$samples, user part ${age} ns old"
[ "$answered" = 20 ] || fail "answered moved by $answered, want 20"
[ "$samples" -ge 25 ] || fail "the kernel's ip-start count moved by $samples, want >= 25"
[ "$age" -ge 2000000000 ] || fail "the agent's part is $age ns old after a 2 s stop"
ok "answered from the kernel while the agent was stopped; its own part aged ${age} ns"

# Back to work: the agent refreshes its part again.
sleep 0.6
xdp_ping "$TMP/after" -c 1 "198.18.0.2:$PORT"
[ "$(env_val "$TMP/after" user_age_ns)" -lt 1000000000 ] || fail "the agent did not refresh after SIGCONT"

kill_agent
wait_for 5 sh -c "! ip -n $NS_B link show $VETH_B | grep -q prog/xdp" ||
	fail "the XDP program outlived the killed agent"
rc=0
ip netns exec "$NS_A" "$HOSTLAT" ping -c 2 -i 50ms -W 200ms -q "198.18.0.2:$PORT" || rc=$?
[ $rc = 1 ] || fail "a reply came after the agent was killed (exit $rc)"
ok "a killed agent leaves no XDP program behind"
