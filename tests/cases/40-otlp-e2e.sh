#!/usr/bin/env bash
# otlp_http end to end: real TCP traffic between two network namespaces, the
# agent (ASan build, interval 1 s) exporting through two otlp_http exporters,
# one gzip (endpoint given as a base URL) and one uncompressed (full URL,
# headers from the environment), to a real OTLP receiver that checks every
# body against the official OTLP protobuf schema; a stdout JSON exporter
# gives the expected values. Checks: every request is valid OTLP; both
# encodings arrive (Content-Encoding matches the body); User-Agent is
# hostlat/VERSION; the configured header arrives and its value is in no log;
# hostlat.stack.latency has points with stage attributes; the tcp-socket-read
# count equals the number of delayed reads; and the last request of each
# exporter carries the same cumulative counts as the last stdout line.
source "$(dirname "$0")/40-otlp-common.sh"

N=40
start_receiver
start_traffic_server 2

SECRET="Bearer e2e-$RANDOM-$RANDOM-secret"
export HL_TEST_OTLP_TOKEN=$SECRET
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - type: otlp_http
    name: otlp-gzip
    endpoint: http://127.0.0.1:$RCV_PORT
    headers: { authorization: "@env:HL_TEST_OTLP_TOKEN", x-hostlat-test: gzip }
  - type: otlp_http
    name: otlp-plain
    endpoint: http://127.0.0.1:$RCV_PORT/v1/metrics
    compression: none
    temporality: cumulative
    timeout: 5s
    headers: { authorization: "@env:HL_TEST_OTLP_TOKEN", x-hostlat-test: plain }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
grep "otlp_http" "$TMP/agent.err" || true
grep -q "otlp_http: endpoint http://127.0.0.1:$RCV_PORT/v1/metrics (config), compression gzip" \
	"$TMP/agent.err" || fail "the effective endpoint is not logged"
sleep 1
traffic "$N"
sleep 2.5
stop_agent

if grep -q -- "$SECRET" "$TMP/agent.err" "$TMP/agent.out"; then
	fail "a header value appears in the agent's output"
fi
echo "receiver saw $(n_requests) requests"

TMP=$TMP "$PY" - "$RCV_LOG" "$TMP/metrics.jsonl" "$VERSION" "$SECRET" "$N" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TMP"])
from rcv import requests, batch_time, by_stage, points, stdout_lines, stdout_points, stdout_time

log, stdout_path, version, secret, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
reqs = requests(log)
bad = [r for r in reqs if not r["valid"]]
if bad:
    sys.exit("invalid requests: %s" % [(r["seq"], r["errors"][:3]) for r in bad])
if any(r["status"] != 200 for r in reqs):
    sys.exit("statuses: %s" % sorted({r["status"] for r in reqs}))
by_kind = {"gzip": [], "plain": []}
for r in reqs:
    h = r["headers"]
    if h.get("user-agent") != "hostlat/" + version:
        sys.exit("request %d: user-agent %r" % (r["seq"], h.get("user-agent")))
    if not h.get("content-type", "").startswith("application/json"):
        sys.exit("request %d: content-type %r" % (r["seq"], h.get("content-type")))
    if h.get("authorization") != secret:
        sys.exit("request %d: the authorization header did not arrive" % r["seq"])
    kind = h.get("x-hostlat-test")
    if r["gzip"] != (kind == "gzip") or (h.get("content-encoding") == "gzip") != (kind == "gzip"):
        sys.exit("request %d (%s): gzip %s, content-encoding %r" % (r["seq"], kind, r["gzip"], h.get("content-encoding")))
    if kind == "gzip" and not r["wireBytes"] < r["bodyBytes"] / 3:
        sys.exit("request %d: gzip body %d bytes for %d of JSON" % (r["seq"], r["wireBytes"], r["bodyBytes"]))
    by_kind[kind].append(r)
for kind, rs in by_kind.items():
    if len(rs) < 3:
        sys.exit("%s: only %d requests" % (kind, len(rs)))
    print("%s: %d requests, last %d bytes on the wire, %d of JSON" % (kind, len(rs), rs[-1]["wireBytes"], rs[-1]["bodyBytes"]))

lines = stdout_lines(stdout_path)
final = lines[-1]
want_lat = stdout_points(final, "hostlat.stack.latency", "count")
want_ev = stdout_points(final, "hostlat.probe.events", "asInt")
print("stdout final: latency counts %s" % want_lat)
for kind, rs in by_kind.items():
    last = max(rs, key=batch_time)
    if batch_time(last) != stdout_time(final):
        sys.exit("%s: last batch %d, stdout's %d" % (kind, batch_time(last), stdout_time(final)))
    lat = list(points(last, "hostlat.stack.latency"))
    if not lat or any("stage" not in p["attributes"] for p in lat):
        sys.exit("%s: hostlat.stack.latency without stage attributes: %s" % (kind, lat))
    m = {x["name"]: x for x in last["metrics"]}
    if m["hostlat.stack.latency"]["temporality"] != 2 or m["hostlat.probe.events"]["temporality"] != 2:
        sys.exit("%s: not cumulative" % kind)
    got_lat = by_stage(last, "hostlat.stack.latency", "count")
    got_ev = by_stage(last, "hostlat.probe.events", "asInt")
    print("%s: latency counts %s" % (kind, got_lat))
    if got_lat != want_lat or got_ev != want_ev:
        sys.exit("%s: counts differ from stdout's: %s %s" % (kind, got_lat, got_ev))
    reads = got_lat.get("tcp-socket-read", 0)
    if reads != n:
        sys.exit("%s: tcp-socket-read count %d for %d delayed reads" % (kind, reads, n))
    starts = {p["startTimeUnixNano"] for r in rs for p in points(r, "hostlat.stack.latency")}
    if len(starts) != 1:
        sys.exit("%s: cumulative start time changed: %s" % (kind, starts))
PY
ok "otlp_http end to end: valid OTLP, gzip and plain, counts match the traffic"
