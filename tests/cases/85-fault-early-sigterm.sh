#!/usr/bin/env bash
# SIGTERM and SIGINT at the very start exit 0, never 143/130 (before, the
# agent blocked them only after loading its config and the kernel's BTF:
# a SIGTERM in its first milliseconds killed it). The agent blocks them
# from its first instruction (the executable's .preinit_array), so:
#   * a signal already pending when it execs (raised, blocked, in the
#     child before the exec: tests/tools/early_signal.py pending) stops it
#     before it loads any probe or exports anything, with exit 0;
#   * a signal sent the moment /proc/PID/status shows it blocked (polled
#     from the exec on) exits 0 every time, and it comes early enough to
#     stop the agent before it runs, at least once in 8 tries.
source "$(dirname "$0")/85-fault-common.sh"

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" softirq

# run MODE SIG: the agent gets SIG as MODE says; it must exit 0. Sets EARLY=1
# when it stopped before it was running (no probe loaded, nothing exported).
run() {
	local res rc
	rm -f "$TMP/metrics.jsonl"
	res=$("$PY" tests/tools/early_signal.py "$1" "$2" "$TMP/agent.err" "$HOSTLAT" --config "$TMP/hostlat.yaml")
	echo "$1 SIG$2: $res"
	rc=$(echo "$res" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["rc"])')
	[ "$rc" -eq 0 ] || { cat "$TMP/agent.err" >&2; fail "$1 SIG$2: exit status $rc"; }
	! grep -q "Sanitizer" "$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "$1 SIG$2: sanitizer report"; }
	EARLY=0
	if grep -q "agent: .* before the agent was running: stopping" "$TMP/agent.err"; then
		! grep -q " running; exporting" "$TMP/agent.err" || fail "$1 SIG$2: ran after an early stop"
		[ ! -s "$TMP/metrics.jsonl" ] || fail "$1 SIG$2: batches exported after an early stop"
		EARLY=1
	fi
}

for sig in TERM INT; do
	run pending $sig
	[ $EARLY = 1 ] || { cat "$TMP/agent.err" >&2; fail "pending SIG$sig: the agent started anyway"; }
done
ok "a SIGTERM/SIGINT pending at exec stops the agent before it starts, exit 0"

early=0
for sig in TERM INT TERM INT TERM INT TERM INT; do
	run blocked $sig
	early=$((early + EARLY))
done
echo "sent as soon as blocked: $early of 8 stopped the agent before it was running"
[ "$early" -ge 1 ] || fail "no signal sent as soon as it was blocked came before the agent ran"
ok "a SIGTERM/SIGINT as soon as the agent blocks it: exit 0 every time"
