#!/usr/bin/env bash
# The conntrack stage of stack_latency (the time from a packet's RX stamp
# to its meeting with connection tracking in PREROUTING), on real TCP and
# UDP traffic between network namespaces:
#  1. the receiving namespace has a `ct state` rule (conntrack active): the
#     stage records the packets, with values >= 0 whose median lies below
#     the median of tcp-socket-read (a read D ms after arrival) of the same
#     run, on whatever hook this kernel gives it (fentry/nf_conntrack_in,
#     kprobe/nf_conntrack_in, or the BPF netfilter link on a kernel with
#     neither, 6.4+);
#  2. the agent filtered on the sending namespace, which has no ct rule
#     (conntrack idle there): the stage records nothing while ip-start does;
#  3. --check names the reason when the stage cannot run: nf_conntrack not
#     loaded (a guest before the rule), the netfilter tier turned off
#     (HOSTLAT_DISABLE_HOOKS=...,netfilter) where it is the only one.
# Runs on the host and in the kernel-matrix guests (tests/kernels/guest-cases.list),
# there with and without HOSTLAT_DISABLE_HOOKS=fentry (the kprobe tier).
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
command -v nft >/dev/null || command -v iptables >/dev/null || skip "neither nft nor iptables installed"

STAGES="[ip-start, conntrack, tcp-start, udp-start, tcp-socket-enqueued, udp-socket-enqueued, tcp-socket-read, udp-socket-read]"
D_MS=8
modprobe veth 2>/dev/null || true
netns_pair ctsnd ctrcv

config() { # config FILE NETNS
	cat >"$1" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    stages: $STAGES
    filters: { network_namespace: /var/run/netns/$2 }
exporters:
  - { type: stdout, format: json, output: $1.jsonl }
YAML
	only_probes "$1" stack_latency
}
# conntrack_line CHECK_OUT: the conntrack stage's lines of a --check.
conntrack_line() { sed -n '/^conntrack /{N;p}' "$1"; }

# ---- 3a. before any rule: no connection tracking loaded (a fresh guest) ----
config "$TMP/a.yaml" "$NS_B"
if [ ! -e /sys/module/nf_conntrack ] && ! grep -qw nf_conntrack_in /proc/kallsyms; then
	"$HOSTLAT" --config "$TMP/a.yaml" --check >"$TMP/check0.txt" 2>&1 || true
	conntrack_line "$TMP/check0.txt"
	grep -q "unavailable: nf_conntrack is not loaded (no connection tracking on this host)" "$TMP/check0.txt" ||
		fail "--check does not say nf_conntrack is not loaded"
	ok "without nf_conntrack the stage is unavailable, and says why"
fi

# ---- the receiver tracks connections ----
modprobe nf_conntrack 2>/dev/null || true
if command -v nft >/dev/null; then
	ip netns exec "$NS_B" nft -f - <<'NFT' || fail "nft rule failed"
table inet hl_ct { chain in { type filter hook input priority 0; ct state established,related,new accept; } }
NFT
else
	for ipt in iptables ip6tables; do
		ip netns exec "$NS_B" "$ipt" -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED,NEW -j ACCEPT ||
			fail "$ipt conntrack rule failed"
	done
fi
echo "ct rule in $NS_B: $(command -v nft >/dev/null && echo nft || echo iptables)"

"$HOSTLAT" --config "$TMP/a.yaml" --check >"$TMP/check.txt" 2>&1 || true
conntrack_line "$TMP/check.txt"
HOOK=$(awk '$1 == "conntrack" {print $3}' "$TMP/check.txt")
case $HOOK in
fentry | kprobe | netfilter) ;;
none)
	why=$(conntrack_line "$TMP/check.txt" | tail -n 1)
	# Every tier off or absent on purpose (6.1 has no netfilter programs).
	if [[ $why == *"netfilter: this kernel has no BPF netfilter programs"* ||
		$why == *"netfilter: not used: HOSTLAT_DISABLE_HOOKS"* ]] &&
		[[ $why != *"nf_conntrack is not loaded"* ]]; then
		skip "no conntrack hook on this kernel with HOSTLAT_DISABLE_HOOKS=${HOSTLAT_DISABLE_HOOKS:-}: $why"
	fi
	fail "the conntrack stage has no hook here: $why"
	;;
*) cat "$TMP/check.txt"; fail "--check does not list the conntrack stage" ;;
esac
grep -q "verified: loaded and attached" "$TMP/check.txt" || { cat "$TMP/check.txt"; fail "stack_latency did not load"; }
if [[ ",${HOSTLAT_DISABLE_HOOKS:-}," == *,fentry,* && ",${HOSTLAT_DISABLE_HOOKS:-}," != *,kprobe,* ]] &&
	[ -e /sys/bus/event_source/devices/kprobe ]; then
	[ "$HOOK" = kprobe ] || fail "fentry disabled and kprobes here: want the kprobe tier, got $HOOK"
fi

# ---- 1. conntrack active in the receiver ----
start_agent "$TMP/a.yaml"
tcp_reads 25 "$D_MS"
udp_reads 100 5102
sleep 2.5 # the next export holds it all (interval 1 s)
stop_agent
grep -E "stage conntrack" "$TMP/agent.err" || true

"$PY" - "$TMP/a.yaml.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points, median_index, check_invariants
req = last_request(sys.argv[1])
hooks = {a["stage"]: (a["hook"], float(dp["asDouble"])) for a, dp in points(req, "hostlat.probe.hook")}
lat = {}
for a, dp in points(req, "hostlat.stack.latency"):
    check_invariants(dp)
    lat[a["stage"]] = dp
events = {a["stage"]: int(dp["asInt"]) for a, dp in points(req, "hostlat.probe.events")}
drops = {}
for a, dp in points(req, "hostlat.probe.dropped"):
    if a["stage"] == "conntrack":
        drops[a["reason"]] = int(dp["asInt"])
for st in sorted(lat, key=lambda s: list(hooks).index(s) if s in hooks else 99):
    dp = lat[st]
    print("%-20s %-45s count %6s median bucket %s min %s max %s" % (
        st, hooks.get(st, ("?",))[0], dp["count"], median_index(dp), dp.get("min"), dp.get("max")))
print("conntrack events %s dropped %s" % (events.get("conntrack"), drops))
if hooks.get("conntrack", ("none", 0))[1] != 1:
    sys.exit("conntrack: no hook (%s)" % (hooks.get("conntrack"),))
ct = lat.get("conntrack")
# 100 datagrams and 25 TCP messages (plus handshake and ACKs) entered the
# receiver; TCP between namespaces keeps its sender's transmit time in the
# stamp (counted as tx_timestamp drops, like at ip-start).
n = int(ct["count"]) if ct else 0
if n < 100 or n + drops.get("tx_timestamp", 0) < 125:
    sys.exit("conntrack: %d samples (+%d tx_timestamp), want >= 100 (the datagrams) and >= 125 in all"
             % (n, drops.get("tx_timestamp", 0)))
if events.get("conntrack") != int(ct["count"]):
    sys.exit("conntrack: events %s != histogram count %s" % (events.get("conntrack"), ct["count"]))
if "min" in ct and ct["min"] < 0:
    sys.exit("conntrack: negative minimum %s" % ct["min"])
rd = lat.get("tcp-socket-read")
if not rd or int(rd["count"]) < 25:
    sys.exit("tcp-socket-read: want >= 25 samples")
mc, mr = median_index(ct), median_index(rd)
if mr is None or (mc is not None and mc >= mr):
    sys.exit("conntrack median bucket %s not below tcp-socket-read's %s" % (mc, mr))
print("conntrack: %s samples, median bucket %s < tcp-socket-read's %s" % (ct["count"], mc, mr))
PY
ok "conntrack stage on $HOOK recorded the receiver's packets, before the reads"
if [ "$HOOK" = netfilter ]; then
	grep -q "stage conntrack via netfilter/prerouting in netns /var/run/netns/$NS_B" "$TMP/agent.err" ||
		fail "the log does not name the namespace of the netfilter hook"
fi

# ---- 2. conntrack idle: the sender's namespace has no ct rule ----
config "$TMP/b.yaml" "$NS_A"
start_agent "$TMP/b.yaml"
tcp_reads 10 1
# Datagrams into the idle namespace (stamped on arrival, unlike the TCP answers).
start_listener udp-idle ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py udprecv 5103 20
ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py udp 198.18.0.1 5103 20 || fail "UDP sender failed"
wait "$LISTENER_PID" || fail "the idle namespace's receiver did not get every datagram"
sleep 2.5
stop_agent
"$PY" - "$TMP/b.yaml.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
req = last_request(sys.argv[1])
hooks = {a["stage"]: (a["hook"], float(dp["asDouble"])) for a, dp in points(req, "hostlat.probe.hook")}
counts = {a["stage"]: int(dp["count"]) for a, dp in points(req, "hostlat.stack.latency")}
print("idle namespace: conntrack on %s, samples %s; ip-start samples %s" % (
    hooks.get("conntrack", ("none",))[0], counts.get("conntrack", 0), counts.get("ip-start", 0)))
if counts.get("ip-start", 0) < 20:
    sys.exit("ip-start recorded %s packets in the idle namespace, want >= 20 (the datagrams)" % counts.get("ip-start", 0))
if counts.get("conntrack", 0):
    sys.exit("conntrack recorded %d samples where conntrack is idle" % counts["conntrack"])
PY
ok "conntrack idle: nothing recorded"

# ---- 3b. the netfilter tier turned off where it is the last one ----
if [ "$HOOK" = netfilter ]; then
	HOSTLAT_DISABLE_HOOKS=${HOSTLAT_DISABLE_HOOKS:+$HOSTLAT_DISABLE_HOOKS,}netfilter \
		"$HOSTLAT" --config "$TMP/a.yaml" --check >"$TMP/check2.txt" 2>&1 || true
	conntrack_line "$TMP/check2.txt"
	grep -q "netfilter: not used: HOSTLAT_DISABLE_HOOKS" "$TMP/check2.txt" ||
		fail "HOSTLAT_DISABLE_HOOKS=netfilter: --check does not say the netfilter tier is off"
	grep -q "verified: loaded and attached" "$TMP/check2.txt" || fail "the other stages did not run without conntrack's"
	ok "HOSTLAT_DISABLE_HOOKS=netfilter: the stage is unavailable, the probe runs"
fi
