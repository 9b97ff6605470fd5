#!/usr/bin/env bash
# Traffic sampling leaves interfaces as it found them.
#  - tcx (the default where the kernel has it): SIGKILL leaves no program or
#    link behind; the user's root qdisc, clsact and filter are untouched.
#  - classic tc (attach: tc): on an interface without clsact the agent creates
#    one and removes it on exit; on an interface with the user's clsact and
#    filter only the agent's own filter comes and goes; after a SIGKILL the
#    stale filter is replaced at the next start and removed at its exit.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs
command -v clang >/dev/null || skip "clang is needed to build the user's filter"
command -v bpftool >/dev/null || skip "bpftool is missing"

netns_pair a b
static_neighbours
start_sink "$NS_B" 6000
clang -O2 -DPASS -target bpf -c tests/tools/tc_drop.bpf.c -o "$TMP/pass.o" || fail "cannot build the user's filter"

# The user's set-up on B: a root qdisc, and clsact with a filter on ingress.
ip netns exec "$NS_B" tc qdisc add dev "$VETH_B" root handle 1: htb default 0
ip netns exec "$NS_B" tc qdisc add dev "$VETH_B" clsact
ip netns exec "$NS_B" tc filter add dev "$VETH_B" ingress prio 7 handle 7 bpf da obj "$TMP/pass.o" sec tc
user_state=$(tc_state "$NS_B" "$VETH_B")
echo "$user_state"

config() { # IFACE ATTACH
	cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$1]
    granularities: [1ms]
    samples: 2000 # a 2 s run from start: room for the bursts on a loaded machine
    align: start
    attach: $2
    store: { dir: $TMP/store, max_bytes: 0 }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
	only_traffic "$TMP/hostlat.yaml"
}
ours() { # NS DEV: our tc filters (priority 0xc0de = 49374) on both hooks
	{
		ip netns exec "$1" tc filter show dev "$2" ingress
		ip netns exec "$1" tc filter show dev "$2" egress
	} 2>/dev/null | grep -c 'pref 49374 .*hl_traffic_' || true
}

# --- tcx, SIGKILL ---
config "$VETH_B" auto
start_agent_in "$NS_B" "$TMP/hostlat.yaml"
grep -q "via tcx" "$TMP/agent.err" || fail "tcx not used: $(grep traffic "$TMP/agent.err")"
# The agent holds one tcx link per direction (its fdinfo says so; bpftool may
# be too old to list tcx).
cat /proc/"$AGENT_PID"/fdinfo/* 2>/dev/null | grep -A5 "^link_type:.tcx" | tee "$TMP/links.txt"
grep -q "attach_type:.46 (ingress)" "$TMP/links.txt" && grep -q "attach_type:.47 (egress)" "$TMP/links.txt" ||
	fail "the agent holds no tcx links"
ids=$(agent_prog_ids "$AGENT_PID")
kill_agent
# shellcheck disable=SC2086
wait_for 10 progs_gone $ids || fail "programs still loaded after SIGKILL: $ids"
# A link holds its program: the programs being gone, so are the links.
[ "$(tc_state "$NS_B" "$VETH_B")" = "$user_state" ] || fail "the user's tc set-up changed: $(tc_state "$NS_B" "$VETH_B")"
ok "tcx: SIGKILL leaves nothing behind, the user's qdiscs and filter are intact"

# --- classic tc on A (no clsact): created, used, removed ---
config "$VETH_A" tc
rm -f "$TMP/metrics.jsonl" # the output is appended: only this run's counts
before_a=$(tc_state "$NS_A" "$VETH_A")
start_agent_in "$NS_A" "$TMP/hostlat.yaml"
grep -q "via tc clsact" "$TMP/agent.err" || fail "tc not used"
[ "$(ours "$NS_A" "$VETH_A")" = 2 ] || fail "our tc filters are not on ingress and egress"
ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py bursts 198.18.0.2 6000 3 10 1000 100 "$TMP/b.log"
wait_for 10 sh -c "[ -s '$TMP/metrics.jsonl' ] && grep -q traffic.sample.bytes '$TMP/metrics.jsonl'" ||
	fail "no traffic metrics in tc mode"
sleep 1.2
ids=$(agent_prog_ids "$AGENT_PID")
stop_agent
"$PY" - "$TMP/metrics.jsonl" <<'PY' || fail "tc mode did not sample the bursts"
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
tx = [int(dp["sum"]) for a, dp in points(last_request(sys.argv[1]), "hostlat.traffic.sample.bytes")
      if a["network.io.direction"] == "transmit"]
print("transmit bytes sampled in tc mode:", tx)
sys.exit(0 if tx and tx[0] >= 3 * 10 * 1042 else 1)
PY
# shellcheck disable=SC2086
wait_for 10 progs_gone $ids || fail "programs still loaded after exit: $ids"
[ "$(tc_state "$NS_A" "$VETH_A")" = "$before_a" ] || fail "clsact not removed: $(tc_state "$NS_A" "$VETH_A")"
ok "tc: the clsact qdisc the agent created is gone after exit"

# --- classic tc on B (the user's clsact): only our filter comes and goes ---
config "$VETH_B" tc
start_agent_in "$NS_B" "$TMP/hostlat.yaml"
[ "$(ours "$NS_B" "$VETH_B")" = 2 ] || fail "our tc filters are not on B"
stop_agent
[ "$(ours "$NS_B" "$VETH_B")" = 0 ] || fail "our filters left on B"
[ "$(tc_state "$NS_B" "$VETH_B")" = "$user_state" ] || fail "the user's tc set-up changed: $(tc_state "$NS_B" "$VETH_B")"
ok "tc: the user's clsact and filter survive"

# --- classic tc, SIGKILL: the next start replaces the stale filter ---
start_agent_in "$NS_B" "$TMP/hostlat.yaml"
kill_agent
[ "$(ours "$NS_B" "$VETH_B")" = 2 ] || fail "expected the killed agent's filters to stay in tc mode"
start_agent_in "$NS_B" "$TMP/hostlat.yaml"
grep -q "replacing a stale hostlat filter" "$TMP/agent.err" || fail "stale filter not replaced"
ids=$(agent_prog_ids "$AGENT_PID")
stop_agent
[ "$(ours "$NS_B" "$VETH_B")" = 0 ] || fail "our filters left on B after the restart"
# shellcheck disable=SC2086
wait_for 10 progs_gone $ids || fail "programs still loaded: $ids"
[ "$(tc_state "$NS_B" "$VETH_B")" = "$user_state" ] || fail "the user's tc set-up changed: $(tc_state "$NS_B" "$VETH_B")"
ok "tc: a killed agent's filter is replaced and removed by the next one"
