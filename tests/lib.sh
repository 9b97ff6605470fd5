# Shared helpers for the test scripts (sourced). Every resource a test makes
# is registered and removed by the EXIT trap, also when the test fails.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
HOSTLAT=${HOSTLAT:-$BUILD/asan/hostlat}
[ -x "$HOSTLAT" ] || HOSTLAT=$BUILD/hostlat
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
# A short, per-run suffix keeps names unique if a stale run was left behind.
HL_ID=${HL_ID:-$$}
TMP=$(mktemp -d /tmp/hostlat-test.XXXXXX)
_cleanup_cmds=()

on_exit() { _cleanup_cmds+=("$*"); }

_cleanup() {
	local rc=$? _k
	for ((_k = ${#_cleanup_cmds[@]} - 1; _k >= 0; _k--)); do
		eval "${_cleanup_cmds[$_k]}" >/dev/null 2>&1 || true
	done
	rm -rf "$TMP"
	exit $rc
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok: $*"; }

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# netns_pair A B: namespaces hl-A-ID / hl-B-ID joined by a veth pair,
# 198.18.0.1 (A) and 198.18.0.2 (B) (RFC 2544 benchmarking range), plus
# 2001:db8::1/2 (documentation range). Sets NS_A, NS_B, VETH_A, VETH_B.
netns_pair() {
	NS_A=hl-$1-$HL_ID
	NS_B=hl-$2-$HL_ID
	VETH_A=hla$HL_ID
	VETH_B=hlb$HL_ID
	ip netns add "$NS_A"
	on_exit ip netns del "$NS_A"
	ip netns add "$NS_B"
	on_exit ip netns del "$NS_B"
	ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B"
	ip -n "$NS_A" addr add 198.18.0.1/24 dev "$VETH_A"
	ip -n "$NS_B" addr add 198.18.0.2/24 dev "$VETH_B"
	ip -n "$NS_A" addr add 2001:db8::1/64 dev "$VETH_A" nodad
	ip -n "$NS_B" addr add 2001:db8::2/64 dev "$VETH_B" nodad
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" link set "$VETH_A" up
	ip -n "$NS_B" link set "$VETH_B" up
}

# only_probes CONFIG NAME...: turn off, in CONFIG, every probe the agent has
# except NAME... (probes CONFIG already mentions are left as they are), so a
# test loads only what it measures.
only_probes() {
	local cfg=$1 p w keep
	shift
	grep -q '^probes:' "$cfg" || printf 'probes:\n' >>"$cfg"
	for p in $("$HOSTLAT" --config-reference | sed -n 's/^| `probes\.\([a-z_]*\)\.enabled`.*/\1/p'); do
		keep=0
		for w in "$@"; do [ "$p" = "$w" ] && keep=1; done
		[ $keep = 1 ] && continue
		grep -q "^  $p:" "$cfg" || sed -i "s/^probes:.*/&\n  $p: { enabled: false }/" "$cfg"
	done
}

# check_runs OUT CMD...: CMD is a `hostlat --check` of a valid config; its
# output goes to OUT. Passes when it exits 0 (every enabled probe runs) or 1
# with every refusal a "cannot run" line (a probe this kernel cannot run:
# --check exits 1 for that, e.g. function_latency where the kernel has
# neither BPF trampolines nor kprobes); fails on anything else, a refusal
# by the kernel's verifier included.
check_runs() {
	local out=$1 rc=0
	shift
	"$@" >"$out" 2>&1 || rc=$?
	# A verifier refusal ("... (program P: verifier: ...)") is a bug, not a limit.
	if grep -q '^  cannot run: .*verifier: ' "$out"; then
		cat "$out" >&2
		fail "'$*': the kernel's verifier refused a probe"
	fi
	if [ $rc -eq 1 ] && grep -q '^  cannot run: ' "$out" &&
		grep -q 'enabled probes\{0,1\} cannot run on this kernel' "$out"; then
		echo "--check: $(grep -c '^  cannot run: ' "$out") probe(s) cannot run on this kernel:"
		grep -B1 '^  cannot run: ' "$out" | cut -c1-200
		rc=0
	fi
	[ $rc -eq 0 ] || { cat "$out" >&2; fail "'$*' exited $rc"; }
	grep -q '^config .*: valid$' "$out" || { cat "$out" >&2; fail "'$*' did not say the config is valid"; }
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local t=$1
	shift
	local end=$((SECONDS + t))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# start_agent CONFIG [ARGS...]: run the agent in the background; sets AGENT_PID.
# AGENT_NETNS=NAME runs it inside that network namespace.
start_agent() {
	local cfg=$1
	shift
	local prefix=()
	[ -n "${AGENT_NETNS:-}" ] && prefix=(ip netns exec "$AGENT_NETNS")
	# Removed here, not truncated by the background job's redirection: the
	# wait below must not see a previous run's "running".
	rm -f "$TMP/agent.out" "$TMP/agent.err"
	"${prefix[@]}" "$HOSTLAT" --config "$cfg" "$@" >"$TMP/agent.out" 2>"$TMP/agent.err" &
	AGENT_PID=$!
	on_exit "kill -9 $AGENT_PID"
	wait_for 30 grep -q "running" "$TMP/agent.err" || {
		cat "$TMP/agent.err" >&2
		fail "agent did not start"
	}
}

# stop_agent: SIGTERM, wait, require exit status 0.
stop_agent() {
	local rc=0
	kill -TERM "$AGENT_PID" || { cat "$TMP/agent.err" >&2; fail "the agent died before SIGTERM"; }
	wait "$AGENT_PID" || rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/agent.err" >&2; fail "agent exited with $rc after SIGTERM"; }
}

# Programs of ours still loaded (name prefix hl_).
hl_progs_loaded() { bpftool prog show 2>/dev/null | grep -c ' name hl_' || true; }
# IDs of the BPF programs a process holds through its file descriptors
# (program and link fds show prog_id in fdinfo); other agents may run too.
agent_prog_ids() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | tr '\n' ' '
}
# True when none of the given program IDs is loaded any more.
progs_gone() {
	local loaded
	loaded=$(bpftool -j prog show 2>/dev/null | "$PY" -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))')
	for id in "$@"; do
		[[ " $loaded " == *" $id "* ]] && return 1
	done
	return 0
}
