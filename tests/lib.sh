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

# Whatever the test left running in the background ends before its files
# go: TERM, up to 5 s to exit, then KILL (a daemon still writing into $TMP
# once made rm fail).
_reap_children() {
	local pids _i
	pids=$(jobs -p)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	for ((_i = 0; _i < 50; _i++)); do
		# shellcheck disable=SC2086
		kill -0 $pids 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	wait 2>/dev/null
}

_cleanup() {
	local rc=$? _k
	for ((_k = ${#_cleanup_cmds[@]} - 1; _k >= 0; _k--)); do
		eval "${_cleanup_cmds[$_k]}" >/dev/null 2>&1 || true
	done
	_reap_children || true
	rm -rf "$TMP" 2>/dev/null || { sleep 0.5; rm -rf "$TMP" 2>/dev/null; } || true
	exit $rc
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok: $*"; }

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# need_npm PATH WHAT: node and tests/node_modules/PATH (npm WHAT, from
# `make test-deps`) are there, or the test is skipped.
need_npm() {
	command -v node >/dev/null || skip "node not installed"
	[ -e "tests/node_modules/$1" ] || skip "npm $2 not installed (make test-deps)"
}

# isolate_env: nothing of the caller's environment reaches the agent or the
# test's receivers: no proxy (they are on loopback), no OTEL_* variable.
isolate_env() {
	local v
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
	for v in $(env | sed -n 's/^\(OTEL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
}

# expect STATUS PATTERN CMD...: run CMD, its output in $TMP/out; it must exit
# with STATUS and print a line matching the extended regex PATTERN.
expect() {
	local want=$1 pat=$2 rc=0
	shift 2
	"$@" >"$TMP/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$TMP/out"; fail "'$*' exited $rc, want $want"; }
	grep -qE -- "$pat" "$TMP/out" || { cat "$TMP/out"; fail "'$*' output lacks /$pat/"; }
	ok "$* -> $rc"
}

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

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds. In the
# kernel matrix's emulated guests (HOSTLAT_GUEST_OUT set) every bound is
# WAIT_SCALE (default 6) times longer: software emulation on a busy machine
# runs a tenth as fast or less (Python's first start there took over 10 s).
# A bound is only reached when something is wrong; a wait that succeeds
# returns as soon as it does.
WAIT_SCALE=${WAIT_SCALE:-$([ -n "${HOSTLAT_GUEST_OUT:-}" ] && echo 6 || echo 1)}
wait_for() {
	local t=$1
	shift
	local end=$((SECONDS + t * WAIT_SCALE))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# count_lines FILE...: the lines of the FILEs together (0 for a missing one).
count_lines() { { cat "$@" 2>/dev/null || true; } | wc -l; }
# lines_at_least N FILE...: the FILEs have N lines or more together.
lines_at_least() { [ "$(count_lines "${@:2}")" -ge "$1" ]; }

# start_listener NAME CMD...: CMD, a server that prints "listening" once it
# is ready, in the background with its output in $TMP/NAME.out (standard
# error stays the test's), killed on exit; returns once it listens (10 s at
# most). Sets LISTENER_PID.
start_listener() {
	local name=$1
	shift
	# Removed, not truncated by the redirection: the wait must not see an
	# earlier server's "listening".
	rm -f "$TMP/$name.out"
	"$@" >"$TMP/$name.out" &
	LISTENER_PID=$!
	on_exit "kill $LISTENER_PID"
	wait_for 10 listener_up "$name" || fail "$name did not start: $*"
}
# listener_up NAME: true once it printed "listening"; fails the test at once
# if it exited first.
listener_up() {
	grep -q listening "$TMP/$1.out" && return 0
	kill -0 "$LISTENER_PID" 2>/dev/null && return 1
	grep -q listening "$TMP/$1.out" || fail "$1 exited before it listened: $(tail -n 3 "$TMP/$1.out")"
}

# tcp_reads N DELAY_MS: N TCP messages from NS_A to a server in NS_B
# (198.18.0.2, a port of its own each time: the server takes one
# connection) that reads each one DELAY_MS after it arrived; returns when
# the server has read them all.
TCP_READS_PORT=5000
tcp_reads() {
	TCP_READS_PORT=$((TCP_READS_PORT + 1))
	start_listener "tcp-server-$TCP_READS_PORT" ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py \
		server "$TCP_READS_PORT" "$2"
	ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 "$TCP_READS_PORT" "$1" ||
		fail "TCP client failed"
	wait "$LISTENER_PID" || true
}

# udp_reads N PORT: N datagrams from NS_A to a receiver on 198.18.0.2:PORT in
# NS_B, which must get every one.
udp_reads() {
	start_listener "udp-receiver-$2" ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py udprecv "$2" "$1"
	ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py udp 198.18.0.2 "$2" "$1" || fail "UDP sender failed"
	wait "$LISTENER_PID" || fail "UDP receiver did not get every datagram"
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
	# Loading every probe takes seconds here, and a minute or more in an
	# emulated guest kernel on a busy machine (97-kernel-6.1 once took
	# over 30 s in tests/under-load.sh): the bound only costs a failure.
	wait_for 180 grep -q "running" "$TMP/agent.err" || {
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

# kill_agent [PID]: SIGKILL the agent (AGENT_PID by default) and reap it.
kill_agent() {
	local pid=${1:-$AGENT_PID}
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

# Programs of ours still loaded (name prefix hl_).
hl_progs_loaded() { bpftool prog show 2>/dev/null | grep -c ' name hl_' || true; }
# fd_bpf_ids prog|link|map PID: IDs of the BPF programs (links, maps) a
# process holds through its file descriptors, from their fdinfo (link fds
# show their program's prog_id too); other agents may run too.
fd_bpf_ids() {
	grep -h "^$1_id:" /proc/"$2"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | tr '\n' ' '
}
agent_prog_ids() { fd_bpf_ids prog "$1"; }
# bpf_gone prog|link ID...: none of the given program (link) IDs exists any more.
bpf_gone() {
	local kind=$1 loaded id
	shift
	loaded=$(bpftool -j "$kind" show 2>/dev/null | "$PY" -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))')
	for id in "$@"; do
		[[ " $loaded " == *" $id "* ]] && return 1
	done
	return 0
}
progs_gone() { bpf_gone prog "$@"; }
links_gone() { bpf_gone link "$@"; }

# tc_state NS DEV: DEV's qdiscs and tc filters (both hooks) in namespace NS,
# without the counters and ids that change by themselves.
tc_state() {
	ip netns exec "$1" tc qdisc show dev "$2" | sed 's/refcnt [0-9]*//; s/direct_packets_stat [0-9]*//'
	ip netns exec "$1" tc filter show dev "$2" ingress | sed 's/ id [0-9]*//; s/ tag [0-9a-f]*//'
	ip netns exec "$1" tc filter show dev "$2" egress | sed 's/ id [0-9]*//; s/ tag [0-9a-f]*//'
}

# threads_with_caps HEX PROC_DIR: every thread of the process at PROC_DIR
# (/proc/PID) has effective and permitted capability sets HEX (16 hex
# digits, as /proc prints them) and no_new_privs; prints how many threads
# it checked.
threads_with_caps() {
	local want=$1 st eff prm nnp n=0
	for st in "$2"/task/*/status; do
		read -r eff prm nnp < <(awk '/^CapEff/ {e = $2} /^CapPrm/ {p = $2}
			/^NoNewPrivs/ {n = $2} END {print e, p, n}' "$st")
		[ "$eff" = "$want" ] && [ "$prm" = "$want" ] ||
			fail "thread $(basename "$(dirname "$st")"): CapEff $eff CapPrm $prm, expected $want"
		[ "$nnp" = 1 ] || fail "thread $(basename "$(dirname "$st")"): no_new_privs is not set"
		n=$((n + 1))
	done
	echo "$n"
}

# http_code ARGS...: the HTTP status curl gets for ARGS (a URL and options;
# 3 s at most), the body in $TMP/http.body. http_is CODE ARGS...: it is CODE.
http_code() { curl -s -o "$TMP/http.body" -w '%{http_code}' --max-time 3 "$@"; }
http_is() { [ "$(http_code "${@:2}")" = "$1" ]; }

# ---- the OTLP receiver (tests/tools/otlp_receiver.js) -------------------------------
# need_otlp_receiver: node and the npm packages the receiver needs, or skip.
need_otlp_receiver() {
	need_npm @opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js \
		@opentelemetry/otlp-proto-exporter-base
}

# start_otlp_receiver OUT ARGS...: a receiver with ARGS (--log FILE, --mode
# ...) on 127.0.0.1, its output in OUT, killed on exit; sets RCV_PID,
# RCV_PORT (OTLP) and RCV_CTL (its control port).
start_otlp_receiver() {
	local out=$1
	shift
	rm -f "$out"
	node tests/tools/otlp_receiver.js "$@" >"$out" 2>&1 &
	RCV_PID=$!
	on_exit "kill $RCV_PID"
	wait_for 10 grep -q '^listening' "$out" || {
		cat "$out" >&2
		fail "the OTLP receiver did not start"
	}
	RCV_PORT=$(sed -n 's/^listening port=\([0-9]*\) control=.*/\1/p' "$out")
	RCV_CTL=$(sed -n 's/^listening port=[0-9]* control=\([0-9]*\)$/\1/p' "$out")
}

# receiver_mode JSON: replace the settings of the receiver at RCV_CTL, e.g.
# '{"mode":"status","code":503}'.
receiver_mode() {
	curl -sS --fail -X POST --data "$1" "http://127.0.0.1:$RCV_CTL/control" >/dev/null ||
		fail "receiver control $1 failed"
	echo "receiver: $1"
}

# ---- the XDP responder's replies --------------------------------------------------
# xdp_ping OUT ARGS...: `hostlat ping --json ARGS` from NS_A into OUT, which
# must get a reply; the last reply decoded (tests/tools/xdp_peer.py) into
# OUT.env, whose values env_val reads.
xdp_ping() {
	local out=$1
	shift
	ip netns exec "$NS_A" "$HOSTLAT" ping --json "$@" >"$out" || {
		cat "$out"
		fail "hostlat ping $* got no reply"
	}
	"$PY" tests/tools/xdp_peer.py decode <(grep '"seq"' "$out") >"$out.env"
}
# env_val OUT KEY: KEY's value in OUT.env (xdp_ping); empty when absent.
env_val() { sed -n "s/^$2=//p" "$1.env"; }
