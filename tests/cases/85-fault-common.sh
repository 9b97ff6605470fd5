# Shared by the 85-fault-* tests of the shutdown deadline and hold-offs
# (sourced; not a test itself: not executable, so tests/run.sh skips it).
# A hostile OTLP receiver (tests/tools/hostile_receiver.py), a timed
# SIGTERM, and the check that every batch an exporter got is accounted for.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

# The receiver is on loopback: never through a proxy; no OTLP settings from the caller.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
for v in $(env | sed -n 's/^\(OTEL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# start_hostile MODE [ARGS...]: sets RCV_PORT, RCV_LOG (JSON lines, one per request).
start_hostile() {
	local out=$TMP/rcv-$1-$RANDOM.out
	RCV_LOG=$TMP/rcv-$1-$RANDOM.jsonl
	"$PY" tests/tools/hostile_receiver.py --mode "$@" --log "$RCV_LOG" >"$out" 2>&1 &
	RCV_PID=$!
	on_exit "kill $RCV_PID"
	wait_for 10 grep -qs '^listening' "$out" || { cat "$out" >&2; fail "the receiver did not start"; }
	RCV_PORT=$(sed -n 's/^listening port=\([0-9]*\)$/\1/p' "$out")
	echo "receiver ($1): 127.0.0.1:$RCV_PORT"
}

lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
lines_at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# stop_timed: SIGTERM the agent and wait; sets STOP_RC and STOP_SECS (e.g. 1.234).
stop_timed() {
	local t0 t1
	t0=$(date +%s%N)
	kill -TERM "$AGENT_PID" || fail "the agent died before SIGTERM"
	STOP_RC=0
	wait "$AGENT_PID" || STOP_RC=$?
	t1=$(date +%s%N)
	STOP_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	echo "SIGTERM to exit: ${STOP_SECS}s, exit status $STOP_RC"
}

# exit_bounded MAX: the last stop_timed exited 0 within MAX seconds, without sanitizer reports.
exit_bounded() {
	[ "$STOP_RC" -eq 0 ] || { cat "$TMP/agent.err" >&2; fail "exit status $STOP_RC after SIGTERM"; }
	awk -v s="$STOP_SECS" -v m="$1" 'BEGIN { exit !(s < m) }' ||
		{ cat "$TMP/agent.err" >&2; fail "the agent took ${STOP_SECS}s to exit (bound ${1}s)"; }
	! grep -q "Sanitizer" "$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "sanitizer report"; }
}

# accounted NAME BATCHES [SENT]: exporter NAME's summary at its stop says it got
# BATCHES batches and each was sent or counted as dropped (SENT: how many were sent).
accounted() {
	local line b s d
	line=$(grep -E "exporter: $1: (stopped|abandoned): " "$TMP/agent.err" | tail -n 1)
	[ -n "$line" ] || { cat "$TMP/agent.err" >&2; fail "no summary for exporter $1"; }
	read -r b s d < <(echo "$line" | sed -n 's/.*: \([0-9]*\) batches, \([0-9]*\) sent, \([0-9]*\) dropped$/\1 \2 \3/p')
	[ -n "$b" ] || fail "unreadable summary: $line"
	echo "$1: $b batches, $s sent, $d dropped (want $2 batches${3:+, $3 sent})"
	[ "$b" -eq "$2" ] || fail "exporter $1 got $b batches, $2 were collected"
	[ $((s + d)) -eq "$b" ] || fail "exporter $1: $b batches, but $s sent + $d dropped"
	[ -z "${3:-}" ] || [ "$s" -eq "$3" ] || fail "exporter $1: $s sent, want $3"
}
