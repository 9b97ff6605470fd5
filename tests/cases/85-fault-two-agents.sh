#!/usr/bin/env bash
# Two agents on one host coexist (by design: every program is attached
# through its own bpf_link, tcx links stack, and each agent has its own maps):
# both run every probe, sample the same interface, and each counts every
# socket read of the traffic exactly; one being killed (SIGKILL) leaves the
# other counting, and so does one stopping (SIGTERM: agent 2 next to a third
# one started after the kill); once all are gone, none of their programs is
# loaded.
source "$(dirname "$0")/40-otlp-common.sh" # traffic helpers; no receiver here

start_traffic_server 1
# start_nth I: agent I in NS_B, every probe, traffic on VETH_B; sets PID<I>.
start_nth() {
	local i=$1
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
}
# running I: wait until agent I runs; sets IDS<I>, the programs it holds.
running() {
	local i=$1 pid ids
	wait_for 120 grep -q running "$TMP/agent$i.err" || { cat "$TMP/agent$i.err" >&2; fail "agent $i did not start"; }
	grep -q "via tcx" "$TMP/agent$i.err" || fail "agent $i: traffic not on tcx: $(grep traffic "$TMP/agent$i.err")"
	eval "pid=\$PID$i"
	ids=$(agent_prog_ids "$pid")
	[ -n "$ids" ] || fail "agent $i holds no BPF program"
	eval "IDS$i=\$ids"
	echo "agent $i: $(wc -w <<<"$ids") programs"
}
start_nth 1
start_nth 2
running 1
running 2

reads() { # FILE: tcp-socket-read count in the last batch
	TMP=$TMP "$PY" - "$1" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import stdout_lines, stdout_points
print(stdout_points(stdout_lines(sys.argv[1])[-1], "hostlat.stack.latency", "count").get("tcp-socket-read", 0))
PY
}
# reads_are FILE N: the last batch in FILE counts N reads (a batch goes out
# every second; one more than N never comes back down, so waiting is exact).
reads_are() { [ "$(reads "$1" 2>/dev/null)" = "$2" ]; }
# samples_in I: agent I exported a traffic sampling run (a run is 1 s of 1 ms
# samples, read out after it ends: seconds after the agent starts).
samples_in() { grep -q '"hostlat.traffic.sample.bytes"' "$TMP/metrics$1.jsonl"; }
traffic 20
wait_for 20 reads_are "$TMP/metrics1.jsonl" 20
wait_for 20 reads_are "$TMP/metrics2.jsonl" 20
r1=$(reads "$TMP/metrics1.jsonl")
r2=$(reads "$TMP/metrics2.jsonl")
echo "both running: agent 1 counted $r1 reads, agent 2 $r2"
[ "$r1" = 20 ] && [ "$r2" = 20 ] || fail "each agent must count the 20 reads: $r1, $r2"
for i in 1 2; do
	wait_for 30 samples_in $i || fail "agent $i has no traffic samples"
done

# Agent 1 killed: its links go with its file descriptors; agent 2 counts on.
kill_agent "$PID1"
# shellcheck disable=SC2086
wait_for 10 progs_gone $IDS1 || fail "programs of the killed agent 1 are still loaded: $IDS1"
traffic 10
wait_for 20 reads_are "$TMP/metrics2.jsonl" 30
r2=$(reads "$TMP/metrics2.jsonl")
echo "agent 1 killed: agent 2 counted $r2 reads"
[ "$r2" = 30 ] || fail "agent 2 must go on counting after agent 1 was killed: $r2"

# Agent 2 stopped (SIGTERM, its own clean-up) next to a third one: agent 3 counts on.
start_nth 3
running 3
kill -TERM "$PID2"
wait "$PID2" || fail "agent 2 did not stop cleanly"
traffic 10
wait_for 20 reads_are "$TMP/metrics3.jsonl" 10
r3=$(reads "$TMP/metrics3.jsonl")
echo "agent 2 stopped: agent 3 counted $r3 reads"
[ "$r3" = 10 ] || fail "agent 3 must go on counting after agent 2 stopped: $r3"
wait_for 30 samples_in 3 || fail "agent 3 has no traffic samples"
kill -TERM "$PID3"
wait "$PID3" || fail "agent 3 did not stop cleanly"
# shellcheck disable=SC2086
wait_for 10 progs_gone $IDS1 $IDS2 $IDS3 || fail "programs of the agents are still loaded: $IDS1 $IDS2 $IDS3"
ok "two agents coexist: each counts everything, one being killed or stopping does not disturb the other"
