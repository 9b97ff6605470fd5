#!/usr/bin/env bash
# probes.xdp_responder on an exposed interface: what it must not answer.
#   - a source outside the allow list (IPv4 and IPv6) gets nothing, counted
#   - a burst above rate_limit is answered only up to the limit, counted
#   - truncated, short (amplification bait), oversized, unknown-version and
#     response datagrams are dropped unanswered, counted as malformed
#   - datagrams to the port without the magic reach the socket bound there
#     byte for byte; other traffic (UDP to other ports, TCP) is untouched
source "$(dirname "$0")/../lib.sh"
need_root

netns_pair gcli gsrv
ip -n "$NS_A" addr add 198.18.0.3/24 dev "$VETH_A"
ip -n "$NS_A" addr add 2001:db8::3/64 dev "$VETH_A" nodad
PORT=7201
RATE=50
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 500ms }
probes:
  xdp_responder:
    enabled: true
    interface: $VETH_B
    mode: generic
    port: $PORT
    allow: [198.18.0.1/32, "2001:db8::1/128"]
    rate_limit: $RATE
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" xdp_responder
AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"

hping() { ip netns exec "$NS_A" "$HOSTLAT" ping "$@"; }
# (-W 3s: the first IPv6 datagram waits for neighbour discovery, which waits
# for the new link-local address's duplicate detection.)
hping -c 1 -q -I 198.18.0.1 "198.18.0.2:$PORT" >/dev/null || fail "an allowed source got no answer"
hping -c 1 -q -W 3s -I 2001:db8::1 "[2001:db8::2]:$PORT" >/dev/null ||
	fail "an allowed IPv6 source got no answer"

# Outside the allow list.
for src in 198.18.0.3 2001:db8::3; do
	dst=198.18.0.2
	[[ $src == *:* ]] && dst="[2001:db8::2]"
	rc=0
	hping -c 5 -i 10ms -W 300ms -I $src --json "$dst:$PORT" >"$TMP/refused.json" || rc=$?
	[ $rc = 1 ] && grep -q '"sent":5,"received":0' "$TMP/refused.json" ||
		fail "from $src (not allowed): exit $rc, $(tail -n 1 "$TMP/refused.json")"
done
ok "sources outside the allow list get no answer"

# Malformed requests, while a socket listens on the port: none reaches it,
# none is answered; then datagrams without the magic reach it intact.
start_listener listen ip netns exec "$NS_B" "$PY" tests/tools/xdp_peer.py listen $PORT 10 10
LISTENER=$LISTENER_PID
for kind in truncated short oversized version response; do
	out=$(ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py bad $kind 198.18.0.2 $PORT 5)
	[ "$out" = "replies 0" ] || fail "$kind datagrams were answered: $out"
done
out=$(ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py bad oversized 2001:db8::2 $PORT 5)
[ "$out" = "replies 0" ] || fail "oversized IPv6 datagrams were answered: $out"
ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py pattern 198.18.0.2 $PORT 10
wait $LISTENER || true
cat "$TMP/listen.out"
grep -q "got 10 intact 10" "$TMP/listen.out" ||
	fail "the port's own socket did not get exactly its 10 datagrams intact"
ok "malformed requests dropped unanswered; other datagrams to the port passed intact"

# Untouched: UDP to another port, in both families, and a TCP stream.
start_listener other ip netns exec "$NS_B" "$PY" tests/tools/xdp_peer.py listen 7202 20 10
OTHER=$LISTENER_PID
ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py pattern 198.18.0.2 7202 10
ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py pattern 2001:db8::2 7202 10
wait $OTHER || true
grep -q "got 20 intact 20" "$TMP/other.out" || fail "other traffic was changed: $(cat "$TMP/other.out")"
start_listener tcp-echo ip netns exec "$NS_B" "$PY" tests/tools/xdp_peer.py tcp_echo 7203
ip netns exec "$NS_A" "$PY" tests/tools/xdp_peer.py tcp_check 198.18.0.2 7203 || fail "TCP through the interface broke"
ok "other traffic passes untouched"

# A burst above the rate limit, once the bucket has refilled (RATE tokens).
sleep 1.2
BURST=200
hping -c $BURST -i 10us -W 1s --json -I 198.18.0.1 "198.18.0.2:$PORT" >"$TMP/burst.json" || true
tail -n 1 "$TMP/burst.json"
# At least the bucket's RATE tokens; at most those and what refilled
# between the first and the last answer (the responder's own clock).
got=$("$PY" - "$TMP/burst.json" $RATE <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
rate, got = int(sys.argv[2]), lines[-1]["received"]
t = [l["mono_ns"] for l in lines if "seq" in l]
most = rate + int((max(t) - min(t)) * rate / 1e9) + 1 if t else rate
if not rate <= got <= most:
    sys.exit("%d answered at rate_limit %d, want %d..%d" % (got, rate, rate, most))
print(got)
PY
) || fail "the rate limit does not hold"
ok "a burst of $BURST got $got answers at rate_limit $RATE"

# One more answer (after a refill) carries the responder's counters.
sleep 0.1
xdp_ping "$TMP/last" -c 1 -I 198.18.0.1 "198.18.0.2:$PORT"
cat "$TMP/last.env" | grep -E "^(answered|refused|rate_limited|malformed)="
want="answered=$((2 + got + 1)) refused=10 rate_limited=$((BURST - got)) malformed=40"
have=$(grep -E "^(answered|refused|rate_limited|malformed)=" "$TMP/last.env" | tr '\n' ' ' | sed 's/ $//')
[ "$have" = "$want" ] || fail "reply counters: $have, want $want"

stop_agent
"$PY" - "$TMP/metrics.jsonl" "$want" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
req = last_request(sys.argv[1])
got = {a["result"]: int(dp["asInt"]) for a, dp in points(req, "hostlat.xdp_responder.requests")}
want = dict(kv.split("=") for kv in sys.argv[2].split())
want = {k: int(v) for k, v in want.items()}
# The other results: nothing the test sent is one of them.
for k in ("not_unicast", "foreign_mac", "bad_header", "not_local", "bad_source", "ttl_zero",
          "source_port_zero", "bad_checksum"):
    want[k] = 0
print("self-metrics:", got)
if got != want:
    sys.exit("hostlat.xdp_responder.requests %s, want %s" % (got, want))
PY
ok "the reply's counters and the self-metrics agree: $want"
