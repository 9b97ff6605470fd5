# Shared by the bench scripts (sourced; see bench/README.md, "Writing a bench").
#
# It sources tests/lib.sh, so a bench has the tests' helpers: on_exit (every
# resource is removed by the EXIT trap, also on failure or Ctrl-C), netns_pair,
# only_probes, wait_for, start_agent/stop_agent, $TMP. On top:
#
#   bench_need CMD...          stop with a clear message when a tool is missing
#   bpf_stats_on               kernel.bpf_stats_enabled=1 for the run, restored on exit
#   progstats FILE PID...      JSON run_time_ns/run_cnt of the programs of PIDs into FILE
#   bench_record SECTION FILE  merge FILE (JSON) into bench/results.json
#   bench_secs N [QUICK]       N, or QUICK (default N/4, at least 1) with BENCH_QUICK=1
#   bench_py ARGS...           python3 with bench/ on sys.path: `bench_py - <<'PY'`,
#                              then `import benchlib` (bench/benchlib.py)
#   start_bpftrace             bench/bpftrace/hostlat.bt in the background until it
#                              has attached; sets BT_PID
#   start_setup NAME           one monitoring set-up of an alternated bench, until
#                              its programs are attached (sets SETUP_PID); stop_setup
#
# The agent benchmarked is the optimised build ($BUILD/hostlat), never the
# sanitizer one the tests use.
BUILD=${BUILD:-build}
HOSTLAT=${HOSTLAT:-$BUILD/hostlat}
source "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"
[ -x "$HOSTLAT" ] || fail "$HOSTLAT is missing: make BUILD=$BUILD all"
BENCH_QUICK=${BENCH_QUICK:-0}
set -o pipefail
BENCH_START=$SECONDS
export BUILD HOSTLAT TMP

need_root

bench_py() { PYTHONPATH=$PWD/bench "$PY" "$@"; }

bench_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || fail "$c is not installed (tools/deps.sh bench installs what make bench needs)"
	done
}

bpf_stats_on() {
	local was
	was=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
	on_exit "sysctl -q -w kernel.bpf_stats_enabled=$was"
}

progstats() {
	local out=$1
	shift
	"$PY" bench/benchlib.py progstats "$@" >"$out"
}

bench_record() {
	"$PY" - "$1" "$2" "$((SECONDS - BENCH_START))" <<'PY'
import json, sys
sys.path.insert(0, "bench")
import benchlib
with open(sys.argv[2]) as f:
    data = json.load(f)
data["seconds"] = int(sys.argv[3])
benchlib.record(sys.argv[1], data)
PY
	echo "recorded: sections.$1 in ${BENCH_RESULTS:-bench/results.json}"
}

bench_secs() {
	if [ "$BENCH_QUICK" = 1 ]; then
		local q=${2:-$(($1 / 4))}
		[ "$q" -ge 1 ] || q=1
		echo "$q"
	else
		echo "$1"
	fi
}

# Servers in the second namespace of netns_pair (NS_B, 198.18.0.2), each
# removed on exit: iperf3 on 5201, sockperf TCP on 11111 and UDP on 11112.
bench_servers() {
	local pid
	ip netns exec "$NS_B" iperf3 -s -B 198.18.0.2 -p 5201 >"$TMP/iperf3-server.log" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	ip netns exec "$NS_B" sockperf server --tcp -i 198.18.0.2 -p 11111 >"$TMP/sockperf-tcp.log" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	ip netns exec "$NS_B" sockperf server -i 198.18.0.2 -p 11112 >"$TMP/sockperf-udp.log" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	wait_for 10 bash -c "ip netns exec $NS_B ss -ltn | grep -q 198.18.0.2:5201" || fail "iperf3 server did not start"
	wait_for 10 bash -c "ip netns exec $NS_B ss -ltn | grep -q 198.18.0.2:11111" || fail "sockperf TCP server did not start"
	wait_for 10 bash -c "ip netns exec $NS_B ss -lun | grep -q 198.18.0.2:11112" || fail "sockperf UDP server did not start"
}

# start_bpftrace: the bpftrace equivalent of hostlat (bench/bpftrace/hostlat.bt,
# given the offset of CLOCK_REALTIME from CLOCK_MONOTONIC) in the background,
# output to $TMP/bpftrace.out; returns once its probes are attached; sets
# BT_PID. The output file is removed first, not truncated by the background
# job's redirection: the wait must not see a previous run's "Attaching".
start_bpftrace() {
	local off
	# bpftrace attaches through tracefs; a fresh machine may not have it
	# mounted (the agent mounts its own inside `ip netns exec`'s namespace).
	if ! mountpoint -q /sys/kernel/tracing; then
		mount -t tracefs tracefs /sys/kernel/tracing || fail "cannot mount tracefs at /sys/kernel/tracing"
		on_exit "umount /sys/kernel/tracing 2>/dev/null || true"
	fi
	off=$("$PY" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC))')
	rm -f "$TMP/bpftrace.out"
	rx_stamps_on
	bpftrace bench/bpftrace/hostlat.bt "$off" >"$TMP/bpftrace.out" 2>&1 &
	BT_PID=$!
	wait_for 60 grep -q "^Attaching" "$TMP/bpftrace.out" || { cat "$TMP/bpftrace.out" >&2; fail "bpftrace did not start"; }
}

# rx_stamps_on: software RX timestamps on every received skb while
# bpftrace runs, as the agent keeps them on for itself (one socket with
# SO_TIMESTAMPING; the kernel switches them on host-wide while any socket
# asks). Without them skb->tstamp is 0 and bpftrace's stack-stage programs
# return before measuring anything. Sets STAMPS_PID; stop_setup ends it.
rx_stamps_on() {
	rm -f "$TMP/stamps.out"
	"$PY" -c '
import socket, time
SO_TIMESTAMPING, RX_SOFTWARE, SOFTWARE = 37, 1 << 3, 1 << 4
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, RX_SOFTWARE | SOFTWARE)
print("on", flush=True)
time.sleep(1e6)
' >"$TMP/stamps.out" 2>&1 &
	STAMPS_PID=$!
	wait_for 10 grep -q "^on" "$TMP/stamps.out" || { cat "$TMP/stamps.out" >&2; fail "cannot switch RX timestamps on"; }
}

# start_setup NAME: start the set-up NAME of an alternated bench and wait
# until its programs are attached, plus a second; sets SETUP_PID (empty for
# none). NAME: none (nothing); bpftrace (start_bpftrace); floor (the empty
# programs of $BUILD/bench/floor on VETH_B); parts:PROGRAM (one program of
# bench/parts.bpf.c, loaded by $BUILD/bench/parts); anything else: the agent in
# NS_B on $TMP/NAME.yaml.
start_setup() {
	SETUP_PID=""
	case $1 in
	none) ;;
	bpftrace)
		start_bpftrace
		SETUP_PID=$BT_PID
		;;
	floor)
		rm -f "$TMP/floor.out" # the wait below must not see the previous round's "running"
		ip netns exec "$NS_B" "$BUILD/bench/floor" "$BUILD/bench/floor.bpf.o" "$VETH_B" >"$TMP/floor.out" 2>&1 &
		SETUP_PID=$!
		wait_for 30 grep -q "running" "$TMP/floor.out" || { cat "$TMP/floor.out" >&2; fail "floor did not start"; }
		;;
	parts:*)
		rm -f "$TMP/parts.out"
		ip netns exec "$NS_B" "$BUILD/bench/parts" "${1#parts:}" >"$TMP/parts.out" 2>&1 &
		SETUP_PID=$!
		wait_for 30 grep -q "running" "$TMP/parts.out" || { cat "$TMP/parts.out" >&2; fail "parts did not start"; }
		;;
	*)
		AGENT_NETNS=$NS_B start_agent "$TMP/$1.yaml"
		SETUP_PID=$AGENT_PID
		;;
	esac
	[ -z "$SETUP_PID" ] || on_exit "kill -9 $SETUP_PID"
	sleep 1
}

# stop_setup: SIGINT to the set-up start_setup started, and wait for it.
stop_setup() {
	if [ -n "${STAMPS_PID:-}" ]; then
		kill "$STAMPS_PID" 2>/dev/null || true
		wait "$STAMPS_PID" 2>/dev/null || true
		STAMPS_PID=""
	fi
	[ -n "$SETUP_PID" ] || return 0
	kill -INT "$SETUP_PID" 2>/dev/null || true
	wait "$SETUP_PID" 2>/dev/null || true
}

# bench_agent_config FILE: every probe on (traffic on $VETH_B, sampling
# 1 ms slots for 100 s from the start), stack latency in the agent's own
# namespace, one stdout JSON exporter to $TMP, interval 1 s.
bench_agent_config() {
	cat >"$1" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency: { filters: { network_namespace: host } }
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 100000
    every: 24h
    link_speed: 10000
    store: { dir: $TMP/traffic, max_bytes: 0 }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
}
