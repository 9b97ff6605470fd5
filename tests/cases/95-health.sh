#!/usr/bin/env bash
# agent.health on the real agent (ASan build): /healthz answers 200 once
# the probes run; /readyz answers 503, naming the exporter, while the OTLP
# receiver refuses every batch (503), and 200 once one got through. Eight
# idle connections (every slot of the server) delay an answer by at most
# the 2 s deadline and never the collection: the stdout exporter keeps its
# one batch a second meanwhile. Oversized and non-GET requests are refused.
# A SIGHUP reload to a longer interval moves the staleness limit: /healthz
# stays 200 past the old limit.
# A listen address that is not numeric, or port 0, is a config error (exit
# 2, FILE:LINE:COLUMN); a port already in use is a runtime failure (exit 1)
# with one clear message.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
need_otlp_receiver
isolate_env

PORT=$((21000 + HL_ID % 1000))
URL=http://127.0.0.1:$PORT
lines() { count_lines "$TMP/metrics.jsonl"; }

start_otlp_receiver "$TMP/rcv.out" --log "$TMP/rcv.jsonl" --mode status --code 503

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, health: { listen: "127.0.0.1:$PORT" } }
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:$RCV_PORT
    retry: { initial: 100ms, max: 200ms }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" softirq napi
start_agent "$TMP/hostlat.yaml"
http_is 200 "$URL/healthz" || fail "/healthz: $(cat "$TMP/http.body")"
grep -q "^ok: 2 probes running" "$TMP/http.body" || fail "/healthz body: $(cat "$TMP/http.body")"
ok "/healthz: $(cat "$TMP/http.body")"

# Not ready while the receiver refuses everything.
wait_for 10 grep -qs '"status":503' "$TMP/rcv.jsonl" || fail "no refused request"
sleep 2
http_is 503 "$URL/readyz" || fail "/readyz while every export fails: $(cat "$TMP/http.body")"
grep -q "not ready: exporter otlp_http has not delivered a batch yet" "$TMP/http.body" ||
	fail "/readyz body: $(cat "$TMP/http.body")"
ok "/readyz while the receiver refuses: $(cat "$TMP/http.body")"
receiver_mode '{"mode":"ok"}'
wait_for 10 http_is 200 "$URL/readyz" || fail "/readyz after a delivered batch: $(cat "$TMP/http.body")"
ok "/readyz once a batch got through: $(cat "$TMP/http.body")"
[ "$(http_code -I "$URL/readyz")" = 200 ] || fail "HEAD /readyz"

# Every slot held by an idle client: answers wait, collection does not.
for i in 3 4 5 6 7 8 9 10; do
	eval "exec $i<>/dev/tcp/127.0.0.1/$PORT"
done
before=$(lines)
start=$(date +%s%N)
http_is 200 "$URL/healthz" || fail "/healthz behind idle clients: $(cat "$TMP/http.body")"
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -lt 3000 ] || fail "/healthz took $took ms behind idle clients"
sleep 2.5
for i in 3 4 5 6 7 8 9 10; do
	eval "exec $i<&-"
done
[ $(($(lines) - before)) -ge 2 ] || fail "collection stalled while clients held the health server"
ok "8 idle clients: /healthz answered in $took ms, $(($(lines) - before)) batches meanwhile"

head -c 3000 /dev/zero | tr '\0' a >"$TMP/big"
[ "$(http_code -H "X-Big: $(cat "$TMP/big")" "$URL/healthz")" = 431 ] || fail "a 3 kB request was not refused"
[ "$(http_code -X POST "$URL/healthz")" = 405 ] || fail "POST was not refused"
[ "$(http_code "$URL/")" = 404 ] || fail "/ is not 404"
kill -0 "$AGENT_PID" || fail "the agent died"
ok "431, 405 and 404 for bad requests"

# A reload to a longer interval moves the staleness limit, counted from the
# reload: past the old limit (2 x 1 s + 10 s = 12 s) with no collection since,
# the agent is still alive and ready.
sed -i 's/interval: 1s,/interval: 15s,/' "$TMP/hostlat.yaml"
grep -q "interval: 15s," "$TMP/hostlat.yaml" || fail "cannot change the interval in the config"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config .* reloaded: exporting every 15s to 2 exporter(s)" \
	"$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "a longer interval was not reloaded"; }
sleep 13
http_is 200 "$URL/healthz" || fail "/healthz 13 s after a reload to 15 s: $(cat "$TMP/http.body")"
ago=$(sed -n 's/^ok: 2 probes running, last collection \([0-9.]*\)s ago$/\1/p' "$TMP/http.body")
[ -n "$ago" ] && "$PY" -c 'import sys; sys.exit(not 12 < float(sys.argv[1]) < 15)' "$ago" ||
	fail "/healthz after the reload, want a last collection 12-15 s ago: $(cat "$TMP/http.body")"
http_is 200 "$URL/readyz" || fail "/readyz 13 s after a reload to 15 s: $(cat "$TMP/http.body")"
ok "reload to a 15 s interval: alive past the old 12 s limit ($ago s without a collection)"
stop_agent
ok "SIGTERM exits 0"

# Config errors and a taken port.
bad() {
	cat >"$TMP/bad.yaml" <<YAML
agent:
  health: { listen: "$1" }
YAML
	rc=0
	"$HOSTLAT" --check --config "$TMP/bad.yaml" >"$TMP/bad.out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "listen '$1': exit status $rc"
	grep -qF "hostlat: error: config: $TMP/bad.yaml:2:21: '$1': " "$TMP/bad.out" &&
		grep -qF "(key 'agent.health.listen')" "$TMP/bad.out" ||
		fail "listen '$1': $(cat "$TMP/bad.out")"
	echo "refused: $(cat "$TMP/bad.out")"
}
bad localhost:9466
bad 127.0.0.1:0
bad "[::1]9466"
start_listener taken "$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("listening", flush=True); time.sleep(60)' \
	"$PORT"
rc=0
timeout 30 "$HOSTLAT" --config "$TMP/hostlat.yaml" >/dev/null 2>"$TMP/taken.err" || rc=$?
[ $rc = 1 ] || fail "a taken port: exit status $rc"
grep -q "^hostlat: error: agent: agent.health.listen 127.0.0.1:$PORT: cannot listen: Address already in use" \
	"$TMP/taken.err" || fail "a taken port: $(cat "$TMP/taken.err")"
ok "a taken port: $(grep error "$TMP/taken.err")"
