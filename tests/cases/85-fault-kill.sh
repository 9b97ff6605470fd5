#!/usr/bin/env bash
# SIGKILL at random moments (during start-up, loading, attaching, and while
# running with traffic) leaves nothing behind: none of the programs or links
# the agent held (read from its fdinfo while it is stopped with SIGSTOP, just
# before the kill), no qdisc or tc filter on the sampled interface (tcx), no
# pinned object in bpffs. A restart right after the last kill starts, exports,
# and stops cleanly. Every probe is on (traffic sampling the veth).
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
command -v bpftool >/dev/null || skip "bpftool is missing"

netns_pair a b
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency: { filters: { network_namespace: host } }
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 500
    every: 1s
    link_speed: 1000
    store: { dir: $TMP/store }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML

pinned() { if mountpoint -q /sys/fs/bpf; then find /sys/fs/bpf | sort; fi; }
tc0=$(tc_state "$NS_B" "$VETH_B")
pin0=$(pinned)

# Traffic through the sampled interface all along.
ip netns exec "$NS_A" ping -q -i 0.01 198.18.0.2 >/dev/null 2>&1 &
pid=$!
on_exit "kill $pid"

# Delays (s) after the start: 0 is before anything loads; the agent (ASan)
# takes about a second to load and attach everything here.
for base in 0 0.2 0.5 0.9 1.4 2.5 4; do
	delay=$(awk -v b="$base" -v r="$RANDOM" 'BEGIN { printf "%.3f", b + r / 32768 * 0.3 }')
	ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/hostlat.yaml" >"$TMP/agent.out" 2>"$TMP/agent.err" &
	AGENT_PID=$!
	on_exit "kill -9 $AGENT_PID"
	sleep "$delay"
	kill -STOP "$AGENT_PID"
	progs=$(agent_prog_ids "$AGENT_PID")
	links=$(fd_bpf_ids link "$AGENT_PID")
	state=$(grep -q running "$TMP/agent.err" && echo running || echo starting)
	kill_agent
	echo "killed after ${delay}s ($state): $(echo $progs | wc -w) programs, $(echo $links | wc -w) links"
	# Programs and links go when the last reference does (RCU: allow a moment).
	# shellcheck disable=SC2086
	wait_for 5 progs_gone $progs || fail "programs left after SIGKILL at ${delay}s: $progs"
	# shellcheck disable=SC2086
	wait_for 5 links_gone $links || fail "links left after SIGKILL at ${delay}s: $links"
	[ "$(tc_state "$NS_B" "$VETH_B")" = "$tc0" ] ||
		{ tc_state "$NS_B" "$VETH_B" >&2; fail "qdisc or filter left on $VETH_B after SIGKILL at ${delay}s"; }
	[ "$(pinned)" = "$pin0" ] || fail "bpffs changed after SIGKILL at ${delay}s"
	[ "$state" = running ] && running_kills=$((${running_kills:-0} + 1))
done
[ "${running_kills:-0}" -ge 2 ] || fail "too few kills while running (${running_kills:-0}): the delays do not cover it"

# A restart right away works: it starts, exports traffic data, stops cleanly.
rm -f "$TMP/metrics.jsonl"
AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"
wait_for 15 grep -q hostlat.traffic.sample.bytes "$TMP/metrics.jsonl" || fail "the restarted agent exports no traffic data"
stop_agent
[ "$(tc_state "$NS_B" "$VETH_B")" = "$tc0" ] || fail "qdisc or filter left after a clean stop"
ok "SIGKILL at 7 moments leaves no program, link, qdisc, filter or pin; restart works"
