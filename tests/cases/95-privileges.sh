#!/usr/bin/env bash
# Least privilege of the running agent (ASan build, every probe on): once
# its probes are attached, every thread (main, each exporter's, the traffic
# scheduler, the health server) has given up every capability nothing still
# needs and has no_new_privs, read from /proc/PID/task/*/status:
#   - traffic on tcx links (Linux 6.6+): nothing is kept, CapEff 0;
#   - traffic on a classic tc filter: CAP_NET_ADMIN only, and that is
#     enough to remove the filter at exit;
#   - a store.dir the agent's user cannot write: CAP_DAC_OVERRIDE only, and
#     runs are still stored there.
# Collection goes on without the capabilities: traffic runs (the scheduler
# thread reading its maps), the other probes' maps and both exporters keep
# producing batches after the drop. On kernels before 5.19 with
# kernel.unprivileged_bpf_disabled set, CAP_BPF is expected in every case.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
netns_pair priv peer
AGENT_NETNS=$NS_A
HEALTH=127.0.0.1:$((20000 + HL_ID % 1000))

cap_hex() { printf '%016x' "$1"; }
CAP_DAC_OVERRIDE=$((1 << 1))
CAP_NET_ADMIN=$((1 << 12))
CAP_BPF=$((1 << 39))
base=0
kver=$(uname -r | awk -F. '{print $1 * 1000 + $2}')
if [ "$kver" -lt 5019 ] && [ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)" != 0 ]; then
	base=$CAP_BPF
fi
has_tcx() { bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null | grep -q BPF_TCX_INGRESS; }

# run_case NAME ATTACH STORE EXPECTED_CAPS
run_case() {
	local name=$1 attach=$2 store=$3 want=$4 n pid lines
	cat >"$TMP/$name.yaml" <<YAML
agent: { interval: 1s, health: { listen: "$HEALTH" } }
probes:
  traffic:
    interfaces: [$VETH_A]
    attach: $attach
    granularities: [1ms]
    samples: 50
    every: 1s
    store: { dir: $store }
exporters:
  - { type: stdout, format: json, output: $TMP/$name.jsonl }
  - { type: stdout, name: second, format: json, output: $TMP/$name-2.jsonl }
YAML
	start_agent "$TMP/$name.yaml"
	pid=$AGENT_PID
	grep "capabilities kept\|keeping" "$TMP/agent.err" || true
	n=$(threads_with_caps "$(cap_hex "$want")" /proc/"$pid") ||
		fail "$name: a thread has other capabilities or no no_new_privs"
	# main, two exporters, the traffic scheduler, the health server
	[ "$n" -ge 5 ] || fail "$name: only $n threads"
	# Packets into the agent's namespace: NET_RX softirqs for the softirq
	# probe to record (a quiet machine may have none of its own).
	ip netns exec "$NS_B" "$PY" tests/tools/stall.py send 198.18.0.1 9 200 64 1
	# Batches and traffic runs after the drop: the maps are still read.
	wait_for 20 lines_at_least 8 "$TMP/$name.jsonl" "$TMP/$name-2.jsonl" ||
		fail "$name: the exporters stopped after the drop"
	"$PY" - "$TMP/$name.jsonl" <<'PY' || fail "$name: no data after the drop"
import json, sys
last = json.loads(open(sys.argv[1]).read().splitlines()[-1])
names = {m["name"]: m for rm in last["resourceMetrics"] for sm in rm["scopeMetrics"] for m in sm["metrics"]}
for want in ("hostlat.traffic.sample.bytes", "hostlat.softirq.duration", "hostlat.probe.events"):
    if want not in names:
        sys.exit("no %s" % want)
samples = sum(int(p["count"]) for p in names["hostlat.traffic.sample.bytes"]["exponentialHistogram"]["dataPoints"])
if samples < 100:
    sys.exit("only %d traffic samples" % samples)
print("after the drop: %d metrics, %d traffic samples" % (len(names), samples))
PY
	ok "$name: $n threads, CapEff and CapPrm $(cap_hex "$want"), no_new_privs"
	LAST_PID=$pid
}

# 1. tcx links: nothing to keep.
if has_tcx; then
	run_case tcx tcx "$TMP/store-tcx" "$base"
	grep -q "capabilities kept after start: $([ "$base" = 0 ] && echo none || echo cap_bpf)" \
		"$TMP/agent.err" || fail "tcx: the log does not say what was kept"
	stop_agent
else
	echo "no tcx in this kernel: the tcx case is not run"
fi

# 2. A classic tc filter: CAP_NET_ADMIN, which removes it at exit.
run_case tc tc "$TMP/store-tc" $((base | CAP_NET_ADMIN))
grep -q "keeping cap_net_admin for traffic: its classic tc filter on $VETH_A is removed at exit" \
	"$TMP/agent.err" || fail "tc: the reason for cap_net_admin is not logged"
ip netns exec "$NS_A" tc filter show dev "$VETH_A" ingress | grep -q "pref 49374" ||
	fail "tc: no hostlat filter while running"
stop_agent
ip netns exec "$NS_A" tc filter show dev "$VETH_A" ingress | grep "pref 49374" &&
	fail "tc: the filter stayed after exit"
ip netns exec "$NS_A" tc filter show dev "$VETH_A" egress | grep "pref 49374" &&
	fail "tc: the egress filter stayed after exit"
ok "tc: the filters were removed at exit with the capability kept"

# 3. A store.dir only another user may write: CAP_DAC_OVERRIDE.
mkdir -p "$TMP/store-nobody"
chown 65534:65534 "$TMP/store-nobody"
chmod 0755 "$TMP/store-nobody"
attach=tc
has_tcx && attach=tcx
extra=0
[ $attach = tc ] && extra=$CAP_NET_ADMIN
run_case nobody $attach "$TMP/store-nobody" $((base | extra | CAP_DAC_OVERRIDE))
grep -q "keeping cap_dac_override for traffic: store.dir $TMP/store-nobody is not writable by the agent's user" \
	"$TMP/agent.err" || fail "nobody: the reason for cap_dac_override is not logged"
wait_for 10 eval "ls $TMP/store-nobody/hostlat-traffic-*.csv.gz >/dev/null 2>&1" ||
	fail "nobody: no run stored in a directory the agent may write only with the capability"
stop_agent
ok "nobody: runs stored with cap_dac_override kept"
