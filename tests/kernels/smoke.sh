#!/usr/bin/env bash
# smoke.sh [--require-all] [--expect-kprobe]: every probe of the agent on the running kernel,
# on real traffic between two network namespaces. Run on the host and, by
# tests/kernels/matrix.sh, inside each guest kernel of the matrix.
#
#  1. `hostlat --check` with every probe on: what it says runs is what the
#     kernel loaded and attached (every probe's programs verified).
#  2. The agent runs in the receiver's namespace (which tracks connections:
#     a `ct state` rule, for the conntrack stage) with that config while the
#     sender makes UDP and TCP traffic, datagrams to a closed port (drops),
#     requests to the XDP responder (`hostlat ping`, generic XDP) and a TCP
#     receiver under receive-buffer pressure (tcp_collapse, seed 002).
#  3. tests/kernels/smoke_check.py compares: every stage, function and probe
#     --check reported usable must record samples on that traffic, nothing
#     it reported unusable may, and the agent must run what --check said.
#     --require-all: nothing may be unusable (the Debian guests, whose
#     kernels have every hook hostlat uses). --expect-kprobe: with
#     HOSTLAT_DISABLE_HOOKS=fentry, what has a kprobe hook must run on it.
# Function, not timing, is asserted: guests run under software emulation.
# Appends the per-item table to $SMOKE_REPORT and keeps the --check output,
# the agent's log and its metrics in $SMOKE_ARTIFACTS, when set.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
flags=()
for a in "$@"; do
	case $a in
	--require-all | --expect-kprobe) flags+=("$a") ;;
	*) fail "unknown option $a" ;;
	esac
done
kernel=$(uname -r)${HOSTLAT_DISABLE_HOOKS:+ without $HOSTLAT_DISABLE_HOOKS}
echo "kernel $kernel"
modprobe veth 2>/dev/null || true

if [ -n "${SMOKE_ARTIFACTS:-}" ]; then
	mkdir -p "$SMOKE_ARTIFACTS"
	on_exit "cp -f $TMP/*.txt $TMP/*.err $TMP/*.out $TMP/*.jsonl $TMP/*.yaml $SMOKE_ARTIFACTS/"
fi
netns_pair ksnd krcv
static_neighbours
# A second pair for the collapse workload, without the responder's generic
# XDP (which copies every skb it sees, so the receiver could coalesce the
# tiny segments the workload relies on). Removed with the namespaces.
ip link add "hlc$HL_ID" netns "$NS_A" type veth peer name "hld$HL_ID" netns "$NS_B"
ip -n "$NS_A" addr add 198.18.1.1/24 dev "hlc$HL_ID"
ip -n "$NS_B" addr add 198.18.1.2/24 dev "hld$HL_ID"
ip -n "$NS_A" link set "hlc$HL_ID" up
ip -n "$NS_B" link set "hld$HL_ID" up
# Connection tracking in the receiver (a `ct state` rule) for the
# conntrack stage; before --check, which plans it (it loads nf_conntrack
# where that is a module).
modprobe nf_conntrack 2>/dev/null || true
if command -v nft >/dev/null; then
	ip netns exec "$NS_B" nft -f - <<'NFT' || fail "nft rule failed"
table inet hl_ct { chain in { type filter hook input priority 0; ct state established,related,new accept; } }
NFT
else
	ip netns exec "$NS_B" iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT ||
		fail "iptables conntrack rule failed"
fi
XDP_PORT=7101
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  stack_latency:
    enabled: true
    stages: [ip-start, conntrack, tcp-start, udp-start, tcp-socket-enqueued, udp-socket-enqueued,
      tcp-socket-read, udp-socket-read]
  softirq: { enabled: true, vectors: [net_rx, net_tx] }
  napi: { enabled: true }
  function_latency: { enabled: true, functions: [net_rx_action, tcp_collapse] }
  drops: { enabled: true }
  runqueue: { enabled: true }
  traffic:
    enabled: true
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 200
    every: 1s
    store: { dir: $TMP/store }
  xdp_responder:
    enabled: true
    interface: $VETH_B
    mode: generic
    port: $XDP_PORT
    allow: [198.18.0.0/24]
    rate_limit: 0
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: stdout, output: $TMP/pretty.txt }
YAML

rc=0
ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/hostlat.yaml" --check >"$TMP/check.txt" 2>"$TMP/check.err" || rc=$?
cat "$TMP/check.txt" "$TMP/check.err"
echo "--check: exit $rc"

AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"
grep -E 'warn|error' "$TMP/agent.err" || true

# The workloads, each bounded in count and time.
ip netns exec "$NS_B" "$PY" tests/tools/stall.py reader 7400 600 >"$TMP/reader.out" &
on_exit "kill $!"
ip netns exec "$NS_B" "$PY" tests/tools/traffic_gen.py tcpsink 7500 >"$TMP/tcpsink.out" &
on_exit "kill $!"
wait_for 60 grep -q listening "$TMP/reader.out" || fail "UDP reader did not start"
wait_for 60 grep -q listening "$TMP/tcpsink.out" || fail "TCP sink did not start"
workload() {
	ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7400 200 200 1
	ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7401 50 64 1 # closed port
	ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py tcp 198.18.0.2 7500 1
	ip netns exec "$NS_A" "$HOSTLAT" ping -c 5 -i 10ms --timeout 5s "198.18.0.2:$XDP_PORT" >>"$TMP/ping.out" ||
		true
	# The seed-002 stall: a receiver under receive-buffer pressure makes
	# the kernel run tcp_prune_queue -> tcp_collapse (collapse.py fails
	# when the kernel's TCPRcvCollapsed counter did not move).
	"$PY" tests/tools/collapse.py run --server-netns "$NS_B" --client-netns "$NS_A" \
		--addr 198.18.1.2 --port 7600 >>"$TMP/collapse.out" 2>&1 || echo "collapse.py failed" >>"$TMP/collapse.out"
}
# Rounds until every item --check called usable has samples (bounded: a
# guest under emulation is slow, a loaded CI machine too; never a race).
replies() { awk '/requests sent/ {n += $4} END {print n + 0}' "$TMP/ping.out" 2>/dev/null; }
# The kernel's own count of tcp_prune_queue calls over the collapse runs.
prunes() { sed -n 's/.*TcpExt PruneCalled=\([0-9]*\).*/\1/p' "$TMP/collapse.out" | awk '{n += $1} END {print n + 0}'; }
check_now() {
	"$PY" tests/kernels/smoke_check.py --quiet "${flags[@]}" --rounds "$round" --replies "$(replies)" ${HOSTLAT_GUEST_KERNEL:+--prunes "$(prunes)"} \
		"$TMP/check.txt" "$TMP/metrics.jsonl" "$TMP/agent.err" "$kernel" 2>/dev/null
}
for round in 1 2 3 4 5 6; do
	workload >>"$TMP/workload.out" 2>&1
	sleep 2.5 # the next interval's export (interval 1 s) holds this round
	check_now && break
	echo "round $round: not every item has samples yet"
done
stop_agent
tail -n 3 "$TMP/ping.out" 2>/dev/null || true
grep -E 'FAIL|TCPRcvCollapsed|PruneCalled|failed' "$TMP/collapse.out" | tail -n 4 || true
# A round whose reproducer did not collapse is no failure while another did.
[ "$(grep -c 'collapse.py failed' "$TMP/collapse.out")" -lt "$round" ] ||
	{ cat "$TMP/collapse.out"; fail "the collapse workload never made the kernel collapse"; }
# The stall as the README's worked example shows it: the last export's
# tcp_collapse and NET_RX softirq histograms.
awk '/^hostlat.function.duration function=tcp_collapse|^hostlat.softirq.duration.*net_rx/ {n = 4}
	n > 0 {print; n--}' "$TMP/pretty.txt" | tail -n 8
grep -E 'warn|error' "$TMP/agent.err" || true
"$PY" tests/kernels/smoke_check.py "${flags[@]}" ${SMOKE_REPORT:+--report "$SMOKE_REPORT"} \
	--rounds "$round" --replies "$(replies)" ${HOSTLAT_GUEST_KERNEL:+--prunes "$(prunes)"} \
	"$TMP/check.txt" "$TMP/metrics.jsonl" "$TMP/agent.err" "$kernel" ||
	fail "kernel $kernel: see the table above"
ok "kernel $kernel: every probe --check reported usable recorded samples"
