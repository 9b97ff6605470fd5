#!/usr/bin/env bash
# probes.xdp_responder across a veth pair: `hostlat ping` in one namespace,
# the agent in the other with the responder on generic XDP.
#   - IPv4 and IPv6 requests are answered; the client's kernel verifies the
#     replies' checksums (checksum offload off, so nothing is trusted blindly)
#   - the reply's counters move by what the test generated: requests answered,
#     packets seen, drops (datagrams to a closed port), ip-start samples
#   - the part the agent refreshes: MemTotal exact, load average, its age
#     within the interval, percentiles of the last exported interval
#   - the agent's self-metrics count the answered requests
#   - `hostlat respond` (the user-space responder) speaks the same protocol
source "$(dirname "$0")/../lib.sh"
need_root

netns_pair xcli xsrv
# Requests leave with full checksums; replies are checked on arrival.
ip netns exec "$NS_A" ethtool -K "$VETH_A" tx off >/dev/null
PORT=7101
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 500ms }
probes:
  xdp_responder:
    enabled: true
    interface: $VETH_B
    mode: generic
    port: $PORT
    allow: [198.18.0.0/24, "2001:db8::/64"]
    rate_limit: 0
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" xdp_responder stack_latency softirq drops
AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"
grep "xdp_responder" "$TMP/agent.err"
grep -q "counters from stack_latency softirq drops" "$TMP/agent.err" ||
	fail "the responder does not read the other probes' maps"
ip -n "$NS_B" link show "$VETH_B" | grep -q "prog/xdp" || fail "no XDP program on $VETH_B"

sleep 1.2 # an interval has been exported: percentiles and the user part are in place
xdp_ping "$TMP/p1" -c 20 -i 5ms "198.18.0.2:$PORT"
tail -n 1 "$TMP/p1"
grep -q '"sent":20,"received":20' "$TMP/p1" || fail "not every IPv4 request was answered"
[ "$(env_val "$TMP/p1" answered)" = 20 ] || fail "answered=$(env_val "$TMP/p1" answered), want 20"
for k in refused rate_limited malformed; do
	[ "$(env_val "$TMP/p1" $k)" = 0 ] || fail "$k=$(env_val "$TMP/p1" $k), want 0"
done
[ "$(env_val "$TMP/p1" ncpus)" = "$(nproc --all)" ] || fail "ncpus=$(env_val "$TMP/p1" ncpus)"

# What the test generates between two replies: 40 datagrams to a closed port,
# 25 ms apart: the last interval exported (500 ms) before the second reply
# lies within them, so its percentiles have samples.
N=40
ip netns exec "$NS_A" "$PY" tests/tools/stall.py send 198.18.0.2 7102 $N 100 25
xdp_ping "$TMP/p2" -c 1 "198.18.0.2:$PORT"
d() { echo $(($(env_val "$TMP/p2" "$1") - $(env_val "$TMP/p1" "$1"))); }
echo "deltas: answered $(d answered) packets $(d packets) drops $(d drops)" \
	"ip-start $(d stack_events_ip_start) net_rx runs $(d net_rx_runs)"
[ "$(d answered)" = 1 ] || fail "answered moved by $(d answered), want 1"
# Packets seen: the 40 datagrams and the request (ARP, ND, MLD may add a few).
[ "$(d packets)" -ge $((N + 1)) ] && [ "$(d packets)" -le $((N + 8)) ] ||
	fail "packets moved by $(d packets), want $((N + 1))..$((N + 8))"
[ "$(d drops)" -ge $N ] && [ "$(d drops)" -le $((N + 3)) ] ||
	fail "drops moved by $(d drops), want $N..$((N + 3)) (closed port: NO_SOCKET)"
[ "$(d stack_events_ip_start)" -ge $N ] && [ "$(d stack_events_ip_start)" -le $((N + 8)) ] ||
	fail "ip-start samples moved by $(d stack_events_ip_start), want $N..$((N + 8))"
[ "$(d net_rx_runs)" -gt 0 ] && [ "$(d net_rx_ns)" -gt 0 ] || fail "NET_RX runs and time did not move"

# The user part: host figures, fresh (the interval is 500 ms), percentiles.
mem=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
[ "$(env_val "$TMP/p2" mem_total_kb)" = "$mem" ] || fail "mem_total_kb=$(env_val "$TMP/p2" mem_total_kb), want $mem"
[ "$(env_val "$TMP/p2" mem_available_kb)" -gt 0 ] || fail "no MemAvailable"
[ "$(env_val "$TMP/p2" interval_ns)" = 500000000 ] || fail "interval_ns=$(env_val "$TMP/p2" interval_ns)"
age=$(env_val "$TMP/p2" user_age_ns)
[ "$age" -gt 0 ] && [ "$age" -lt 1500000000 ] || fail "user part $age ns old, interval 500 ms"
"$PY" - "$TMP/p2" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"seq"' in l][-1]
load = float(open("/proc/loadavg").read().split()[0])
if abs(r["load"][0] - load) > 1.0:
    sys.exit("load %s, /proc/loadavg says %s" % (r["load"], load))
p = r["stack_percentiles_ns"]["ip-start"]
print("ip-start percentiles of the last interval (ns):", p)
if not 0 < p["p50"] <= p["p90"] <= p["p99"] < 10**9:
    sys.exit("ip-start percentiles out of order or empty: %s" % p)
PY

# IPv6, with a ping interval shorter than a millisecond.
xdp_ping "$TMP/p6" -c 50 -i 200us "[2001:db8::2]:$PORT"
tail -n 1 "$TMP/p6"
grep -q '"sent":50,"received":50' "$TMP/p6" || fail "not every IPv6 request was answered"

# Every reply arrived with a checksum the client's kernel accepted.
csum=$(ip netns exec "$NS_A" nstat -asz UdpInCsumErrors Udp6InCsumErrors | awk '/Csum/ {s += $2} END {print s + 0}')
[ "$csum" = 0 ] || fail "$csum replies had bad UDP checksums"
ok "71 requests answered over IPv4 and IPv6, checksums verified by the client's kernel"

stop_agent
"$PY" - "$TMP/metrics.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
req = last_request(sys.argv[1])
got = {a["result"]: int(dp["asInt"]) for a, dp in points(req, "hostlat.xdp_responder.requests")}
print("self-metrics:", got)
want = {"answered": 71, "refused": 0, "rate_limited": 0, "malformed": 0, "not_unicast": 0,
        "foreign_mac": 0, "bad_header": 0, "not_local": 0, "bad_source": 0, "ttl_zero": 0,
        "source_port_zero": 0, "bad_checksum": 0}
if got != want:
    sys.exit("hostlat.xdp_responder.requests %s, want %s" % (got, want))
pk = [int(dp["asInt"]) for _, dp in points(req, "hostlat.xdp_responder.packets")]
if not pk or pk[0] < 71 + 40:
    sys.exit("hostlat.xdp_responder.packets %s" % pk)
PY
ip -n "$NS_B" link show "$VETH_B" | grep -q "prog/xdp" && fail "the XDP program is still attached after exit"
ok "self-metrics count them; the program is detached at exit"

# The user-space responder answers the same protocol.
ip netns exec "$NS_B" "$HOSTLAT" respond --port 7103 2>"$TMP/respond.err" &
on_exit "kill $!"
wait_for 10 grep -q answering "$TMP/respond.err" || fail "hostlat respond did not start"
xdp_ping "$TMP/pu" -c 5 -i 10ms "198.18.0.2:7103"
grep -q '"sent":5,"received":5' "$TMP/pu" || fail "hostlat respond did not answer every request"
[ "$(env_val "$TMP/pu" answered)" = 5 ] && [ "$(env_val "$TMP/pu" mem_total_kb)" = "$mem" ] &&
	[ -z "$(env_val "$TMP/pu" drops)" ] || fail "hostlat respond's reply: $(cat "$TMP/pu.env")"
ok "hostlat respond answers the same requests from user space"
