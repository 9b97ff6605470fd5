#!/usr/bin/env bash
# The prometheus exporter against Debian's Prometheus server (2.42, native
# histograms on). Real traffic between two network namespaces (as in
# 30-stack-latency: a TCP receiver reads each message D ms after it
# arrived); the agent (ASan build, interval 1 s) serves /metrics over HTTPS
# (a test CA) with basic auth (password from a file), a second exporter
# plain HTTP with a small max_bytes, and writes OTLP JSON through a stdout
# exporter in the same run. Checks:
# - --check refuses a listen address in use (file:line:column), and a start
#   on it is one clear message;
# - two servers scrape the agent (their targets API: up), one with native
#   histograms (protobuf), one without (text); histogram_quantile(0.5,
#   rate(...)) over the traffic window and over the cumulative native
#   histogram fall in the bucket of the agent's own p50 (and of D), over
#   the classic buckets in the power of 2 around it; hostlat_probe_events_total
#   equals the agent's OTLP counters of one collection;
# - the protobuf page (decoded by protobufjs from a schema written in
#   tests/tools/prom_decode.js) has the OTLP buckets of its collection
#   exactly (Prometheus index = OTel index + 1), the text page has classic
#   buckets at powers of 2 equal to the sums of the OTLP buckets below them;
# - without credentials or with wrong ones: 401; plain HTTP or an unknown CA
#   to the HTTPS port: no answer; a page over max_bytes is
#   cut and the points left out are counted in hostlat.exporter.rejected.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || skip "prometheus not installed (make test-deps)"
need_npm protobufjs/index.js protobufjs
isolate_env

netns_pair snd rcv
SCALE=3
D_MS=18.7
D_NS=18700000
PROTO_ACCEPT='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1'

# Free TCP ports: the agent's two endpoints, Prometheus, one held busy.
read -r APORT SMALL PPORT CPORT BUSY < <("$PY" - <<'PY'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)

printf 'scrape-secret\n' >"$TMP/password"
chmod 600 "$TMP/password"
# A test CA and a server certificate for 127.0.0.1: the agent serves HTTPS.
command -v openssl >/dev/null || skip "openssl not installed"
(
	cd "$TMP"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hostlat test CA" \
		-keyout ca.key -out ca.pem 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.pem 2>/dev/null
)
[ -s "$TMP/server.pem" ] || fail "openssl could not make the test certificates"
AUTH=(-u "prom:scrape-secret" --cacert "$TMP/ca.pem")
URL="https://127.0.0.1:$APORT"

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    histogram_scale: $SCALE
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - type: prometheus
    listen: 127.0.0.1:$APORT
    tls: { cert_file: $TMP/server.pem, key_file: $TMP/server.key }
    basic_auth: { username: prom, password: "@file:$TMP/password" }
  - { type: prometheus, name: small, listen: "127.0.0.1:$SMALL", max_bytes: 4096 }
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

# A port in use: --check and a start say so at the key, once.
start_listener busy "$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("listening", flush=True); time.sleep(600)' "$BUSY"
BUSY_PID=$LISTENER_PID
sed "s/listen: \"127.0.0.1:$SMALL\"/listen: \"127.0.0.1:$BUSY\"/" "$TMP/hostlat.yaml" >"$TMP/busy.yaml"
expect 2 "busy.yaml:[0-9]+:[0-9]+: .*127.0.0.1:$BUSY.*Address already in use.*key 'exporters\[1\].listen'" \
	"$HOSTLAT" --config "$TMP/busy.yaml" --check
expect 2 "exporter small: cannot listen on 127.0.0.1:$BUSY: Address already in use" \
	"$HOSTLAT" --config "$TMP/busy.yaml"
[ "$(grep -c 'Address already in use' "$TMP/out")" = 1 ] || { cat "$TMP/out"; fail "more than one message"; }
kill "$BUSY_PID"
sed "s/listen: 127.0.0.1:$APORT/listen: \"127.0.0.1:99999\"/" "$TMP/hostlat.yaml" >"$TMP/bad.yaml"
expect 2 "bad.yaml:[0-9]+:[0-9]+: .*port must be 1..65535.*key 'exporters\[0\].listen'" \
	"$HOSTLAT" --config "$TMP/bad.yaml" --check
# Values that cannot work: at their key, when the config loads or in --check.
bad_config() { # bad_config SED PATTERN [--check]
	sed "$1" "$TMP/hostlat.yaml" >"$TMP/bad.yaml"
	expect 2 "bad.yaml:[0-9]+:[0-9]+: $2" "$HOSTLAT" --config "$TMP/bad.yaml" ${3:-}
}
bad_config 's/max_bytes: 4096/max_bytes: 4096, buckets: [0.001, -1]/' \
	"bucket bound '-1' is not a positive finite number.*key 'exporters\\[1\\].buckets'"
bad_config "s|\"@file:$TMP/password\"|\"@env:HOSTLAT_NO_SUCH_VAR\"|" \
	".*HOSTLAT_NO_SUCH_VAR.*key 'exporters\\[0\\].basic_auth.password'"
bad_config "s|key_file: $TMP/server.key|key_file: $TMP/nothing.key|" \
	"cannot read '$TMP/nothing.key'.*key 'exporters\\[0\\].tls.key_file'" --check
bad_config "s|@file:$TMP/password|@file:$TMP/nothing|" \
	"cannot read '$TMP/nothing'.*key 'exporters\\[0\\].basic_auth.password'" --check
bad_config "s|key_file: $TMP/server.key|key_file: $TMP/ca.pem|" \
	"exporter prometheus: tls.key_file '$TMP/ca.pem': .*"
check_runs "$TMP/check.txt" "$HOSTLAT" --config "$TMP/hostlat.yaml" --check

start_agent "$TMP/hostlat.yaml"
grep -q "serving GET /metrics on https://127.0.0.1:$APORT (basic auth)" "$TMP/agent.err" ||
	fail "no serving line"
grep -q scrape-secret "$TMP/agent.err" && fail "the password is in the log"

# Credentials: none, wrong, right.
http_is 401 --cacert "$TMP/ca.pem" "$URL/metrics" || fail "no credentials: $(cat "$TMP/http.body")"
http_is 401 --cacert "$TMP/ca.pem" -u prom:wrong "$URL/metrics" || fail "wrong password accepted"
http_is 404 "${AUTH[@]}" "$URL/other" || fail "other path not 404"
http_is 000 -u prom:scrape-secret "$URL/metrics" || fail "a client without the CA was not refused"
http_is 000 -u prom:scrape-secret "http://127.0.0.1:$APORT/metrics" || fail "plain HTTP answered on the TLS port"
page_has() { curl -s --max-time 3 "${AUTH[@]}" "$URL/metrics" | grep -q "$1"; }
wait_for 20 page_has hostlat_probe_events_total ||
	fail "the page has no hostlat_probe_events_total"
ok "HTTPS with basic auth: 401 without or with wrong credentials, 200 with them; no answer to plain HTTP"

# start_prometheus NAME PORT [FLAGS...]: a Prometheus server on 127.0.0.1:PORT
# (storage in $TMP/NAME-data, log $TMP/NAME.log) scraping the agent every second.
start_prometheus() {
	local name=$1 port=$2 pid
	shift 2
	mkdir -p "$TMP/$name-data"
	cat >"$TMP/$name.yml" <<YAML
global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: hostlat
    scheme: https
    tls_config: { ca_file: $TMP/ca.pem }
    basic_auth: { username: prom, password_file: $TMP/password }
    static_configs: [{ targets: ["127.0.0.1:$APORT"] }]
YAML
	"$PROM" --config.file="$TMP/$name.yml" --storage.tsdb.path="$TMP/$name-data" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn "$@" >"$TMP/$name.log" 2>&1 &
	pid=$!
	on_exit "kill $pid; wait $pid"
}
# One with native histograms (it asks for protobuf), one without (text, classic buckets).
start_prometheus native "$PPORT" --enable-feature=native-histograms
start_prometheus classic "$CPORT"
NATIVE="http://127.0.0.1:$PPORT/api/v1"
CLASSIC="http://127.0.0.1:$CPORT/api/v1"
API=$NATIVE

# query PROMQL [TIME]: the API's JSON answer in $TMP/q.json.
query() {
	local args=(--data-urlencode "query=$1")
	[ -n "${2:-}" ] && args+=(--data-urlencode "time=$2")
	curl -sS --max-time 5 -G "${args[@]}" "$API/query" >"$TMP/q.json"
}
target_up() { # target_up API
	curl -s --max-time 3 "$1/targets" >"$TMP/targets.json" &&
		"$PY" -c 'import json,sys; t=json.load(open(sys.argv[1]))["data"]["activeTargets"]; sys.exit(0 if t and t[0]["health"]=="up" else 1)' "$TMP/targets.json"
}
# has_native SELECTOR: the server holds a native histogram sample for it.
has_native() {
	query "$1" && "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; sys.exit(0 if r and "histogram" in r[0] else 1)' "$TMP/q.json"
}
wait_for 90 target_up "$NATIVE" || { cat "$TMP/native.log" "$TMP/targets.json" >&2; fail "the target is not up"; }
wait_for 90 target_up "$CLASSIC" || { cat "$TMP/classic.log" "$TMP/targets.json" >&2; fail "the target is not up (classic)"; }
ok "both Prometheus servers scrape the agent over HTTPS with basic auth (target up)"
SEL='hostlat_stack_latency_seconds{stage="tcp-socket-read"}'
# The agent exports a stage's histogram once it has samples: a few reads
# first, so that the server holds the series before the measured window.
tcp_reads 3 "$D_MS"
wait_for 60 has_native "$SEL" || { cat "$TMP/q.json" >&2; fail "no native histogram for $SEL"; }
ok "Prometheus stores $SEL as a native histogram"

# agent_count: the tcp-socket-read count of the agent's latest OTLP collection.
agent_count() {
	"$PY" - "$TMP/metrics.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
for a, dp in points(last_request(sys.argv[1]), "hostlat.stack.latency"):
    if a["stage"] == "tcp-socket-read":
        print(dp["count"])
PY
}
# prom_count_is N: both servers' latest samples of SEL count N.
CSEL='hostlat_stack_latency_seconds_count{stage="tcp-socket-read"}'
value_is() {
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; sys.exit(0 if r and float(r[0]["value"][1])==float(sys.argv[2]) else 1)' "$TMP/q.json" "$1"
}
prom_count_is() {
	API=$NATIVE query "histogram_count($SEL)" && value_is "$1" &&
		API=$CLASSIC query "$CSEL" && value_is "$1"
}
count_at_least() { [ "$(agent_count)" -ge "$1" ]; }
wait_for 20 count_at_least 3 || fail "the agent did not record the first reads"
N0=$(agent_count)
wait_for 30 prom_count_is "$N0" || { cat "$TMP/q.json" >&2; fail "Prometheus's count never reached $N0"; }
sleep 2 # every sample from T0 - 1 on counts N0
T0=$(date +%s%3N)
sleep 1.1
tcp_reads 31 "$D_MS"
wait_for 20 count_at_least $((N0 + 30)) || fail "the agent did not record the reads: count $(agent_count)"
N=$(agent_count)
wait_for 30 prom_count_is "$N" || { cat "$TMP/q.json" >&2; fail "Prometheus's count never reached $N"; }
T1MS=$(date +%s%3N)
W=$((T1MS - T0 + 1000))ms
T1=$((T1MS / 1000)).$(printf %03d $((T1MS % 1000)))
query "histogram_quantile(0.5, rate(${SEL}[${W}]))" "$T1" && cp "$TMP/q.json" "$TMP/q-rate.json"
query "histogram_count(increase(${SEL}[${W}]))" "$T1" && cp "$TMP/q.json" "$TMP/q-increase.json"
query "histogram_quantile(0.5, $SEL)" "$T1" && cp "$TMP/q.json" "$TMP/q-cum.json"
query "hostlat_probe_events_total" "$T1" && cp "$TMP/q.json" "$TMP/q-events.json"
API=$CLASSIC query "histogram_quantile(0.5, rate(hostlat_stack_latency_seconds_bucket{stage=\"tcp-socket-read\"}[${W}]))" "$T1" &&
	cp "$TMP/q.json" "$TMP/q-classic.json"
API=$CLASSIC query 'count(hostlat_stack_latency_seconds_bucket{stage="tcp-socket-read"})' "$T1" &&
	cp "$TMP/q.json" "$TMP/q-classic-n.json"
echo "window ${W}: the agent's count $N0 -> $N"

"$PY" - "$TMP/metrics.jsonl" "$D_NS" "$BUILD/exphist" "$TMP/q-rate.json" "$TMP/q-cum.json" "$TMP/q-events.json" \
	"$TMP/q-increase.json" "$N0" "$TMP/q-classic.json" "$TMP/q-classic-n.json" <<'PY'
import json, subprocess, sys
sys.path.insert(0, "tests/tools")
from otlp_check import points, median_index, check_invariants
path, d_ns, exphist, n0 = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[8])
reqs = [json.loads(l) for l in open(path) if l.strip()]

def bounds(scale, idx):
    lo, hi = subprocess.check_output([exphist, "bounds", "--scale", str(scale), str(idx)]).split()
    return float(lo), float(hi)

def answer(f):
    r = json.load(open(f))["data"]["result"]
    if len(r) != 1:
        sys.exit("%s: %d series, want 1: %s" % (f, len(r), r))
    return float(r[0]["value"][1])

# the agent's p50 of the window: its last collection less the one of N0 reads
def hist(req):
    for a, dp in points(req, "hostlat.stack.latency"):
        if a["stage"] == "tcp-socket-read":
            check_invariants(dp)
            return dp
last = hist(reqs[-1])
base = [hist(r) for r in reqs if hist(r) and int(hist(r)["count"]) == n0][-1]
s = last["scale"]
if base["scale"] != s:
    sys.exit("the scale changed in the window")
def counts(dp):
    pos = dp.get("positive", {"offset": 0, "bucketCounts": []})
    return {pos.get("offset", 0) + k: int(c) for k, c in enumerate(pos["bucketCounts"])}
cl, cb = counts(last), counts(base)
win = {i: cl.get(i, 0) - cb.get(i, 0) for i in set(cl) | set(cb)}
total = sum(win.values())
rank, seen = (total + 1) // 2, 0
for i in sorted(win):
    seen += win[i]
    if seen >= rank:
        idx = i
        break
lo, hi = bounds(s, idx)
want = int(subprocess.check_output([exphist, "index", "--scale", str(s)], input=b"%d\n" % d_ns).split()[0])
print("agent: %d reads in the window (cumulative %s), p50 in bucket %d (%.9g, %.9g] s at scale %d; D in bucket %d; cumulative p50 bucket %s"
      % (total, last["count"], idx, lo, hi, s, want, median_index(last)))
if idx != want or median_index(last) != want:
    sys.exit("the agent's p50 bucket %d is not the bucket of D %d" % (idx, want))
print("PromQL histogram_count(increase(...)) over the window: %.6g (extrapolated)" % answer(sys.argv[7]))
for name, f in (("rate window", sys.argv[4]), ("cumulative", sys.argv[5])):
    q = answer(f)
    print("PromQL histogram_quantile(0.5) %s: %.9g s" % (name, q))
    if not (lo * (1 - 1e-9) <= q <= hi * (1 + 1e-9)):
        sys.exit("PromQL %s p50 %.9g s is outside the agent's p50 bucket (%.9g, %.9g]" % (name, q, lo, hi))

# the server without native histograms: classic buckets at powers of 2, the p50 in the
# power of 2 around the agent's bucket (linear interpolation inside it)
q = answer(sys.argv[9])
e = idx // 2 ** s
clo, chi = 2.0 ** e, 2.0 ** (e + 1)
print("PromQL histogram_quantile(0.5) over classic buckets (%d series): %.9g s, in (%.9g, %.9g]"
      % (answer(sys.argv[10]), q, clo, chi))
if not (clo <= lo and hi <= chi and clo <= q <= chi):
    sys.exit("classic p50 %.9g s is outside the power of 2 (%.9g, %.9g] around the agent's bucket" % (q, clo, chi))

# counters: Prometheus's latest values equal the OTLP values of one collection
prom = {}
for r in json.load(open(sys.argv[6]))["data"]["result"]:
    prom[r["metric"]["stage"]] = float(r["value"][1])
def otlp_events(req):
    return {a["stage"]: float(dp["asInt"]) for a, dp in points(req, "hostlat.probe.events")}
match = [i for i, r in enumerate(reqs) if otlp_events(r) == prom]
print("Prometheus hostlat_probe_events_total:", prom)
if not match:
    sys.exit("no OTLP collection has the counters Prometheus holds; last: %s" % otlp_events(reqs[-1]))
print("equal to the OTLP counters of collection %d of %d" % (match[-1] + 1, len(reqs)))
PY
ok "PromQL over native histograms answers the agent's p50 bucket; counters equal"

# One page of each format against the OTLP collection it came from.
curl -sS --max-time 5 "${AUTH[@]}" -H "Accept: $PROTO_ACCEPT" -D "$TMP/proto.h" -o "$TMP/page.bin" \
	"$URL/metrics" || fail "protobuf scrape failed"
curl -sS --max-time 5 "${AUTH[@]}" -D "$TMP/text.h" -o "$TMP/page.txt" \
	"$URL/metrics" || fail "text scrape failed"
grep -qi '^content-type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' "$TMP/proto.h" ||
	{ cat "$TMP/proto.h"; fail "protobuf content type"; }
grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/text.h" || { cat "$TMP/text.h"; fail "text content type"; }
node tests/tools/prom_decode.js "$TMP/page.bin" >"$TMP/page.json" || fail "protobufjs cannot decode the page"
collected() { tr -d '\r' <"$1" | sed -n 's/^[Xx]-[Hh]ostlat-[Cc]ollected-[Uu]nix-[Nn]ano: //p'; }
TP=$(collected "$TMP/proto.h")
TT=$(collected "$TMP/text.h")
wait_for 10 grep -q "\"timeUnixNano\":\"$TT\"" "$TMP/metrics.jsonl" || fail "no OTLP collection at $TT"
wait_for 10 grep -q "\"timeUnixNano\":\"$TP\"" "$TMP/metrics.jsonl" || fail "no OTLP collection at $TP"

"$PY" - "$TMP/metrics.jsonl" "$TP" "$TMP/page.json" "$TT" "$TMP/page.txt" <<'PY'
import json, math, re, sys
sys.path.insert(0, "tests/tools")
from otlp_check import points
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def at(t):
    for r in reqs:
        for a, dp in points(r, "hostlat.stack.latency"):
            if dp["timeUnixNano"] == t:
                return r
    sys.exit("no collection at %s" % t)

def otlp_hists(req):
    out = {}
    for a, dp in points(req, "hostlat.stack.latency"):
        pos = dp.get("positive", {"offset": 0, "bucketCounts": []})
        b = {pos.get("offset", 0) + k: int(c) for k, c in enumerate(pos["bucketCounts"]) if int(c)}
        out[a["stage"]] = (int(dp["count"]), float(dp.get("sum", 0)), int(dp.get("zeroCount", "0")), dp["scale"], b)
    return out

# protobuf: native buckets equal OTel's, index + 1
req = at(sys.argv[2])
want = otlp_hists(req)
fams = {f["name"]: f for f in json.load(open(sys.argv[3]))}
fam = fams.get("hostlat_stack_latency_seconds") or sys.exit("no hostlat_stack_latency_seconds family")
if fam["type"] != "HISTOGRAM":
    sys.exit("type %s" % fam["type"])
seen = 0
for m in fam["metric"]:
    stage = {l["name"]: l["value"] for l in m["label"]}["stage"]
    h = m["histogram"]
    count, total, zero, scale, b = want[stage]
    got = {int(k) - 1: v for k, v in h["buckets"].items()}
    if int(h["sample_count"]) != count or int(h["zero_count"]) != zero or h["schema"] != scale or got != b \
            or abs(h["sample_sum"] - total) > 1e-12 * max(1, total) or not h["positive_span"]:
        sys.exit("stage %s: protobuf %s != OTLP count %d sum %r zero %d scale %d buckets %s" % (stage, h, count, total, zero, scale, b))
    seen += 1
if seen != len(want):
    sys.exit("protobuf has %d stages, OTLP %d" % (seen, len(want)))
ev = {({l["name"]: l["value"] for l in m["label"]})["stage"]: m["counter"]["value"] for m in fams["hostlat_probe_events_total"]["metric"]}
oe = {a["stage"]: float(dp["asInt"]) for a, dp in points(req, "hostlat.probe.events")}
if ev != oe:
    sys.exit("protobuf counters %s != OTLP %s" % (ev, oe))
print("protobuf page: %d native histograms and the counters equal the OTLP collection %s" % (seen, sys.argv[2]))

# text: classic buckets at powers of 2, each the sum of the OTLP buckets below it
req = at(sys.argv[4])
want = otlp_hists(req)
text = open(sys.argv[5]).read()
if "# TYPE hostlat_stack_latency_seconds histogram" not in text:
    sys.exit("no TYPE line")
lines = {}
for stage, le, v in re.findall(r'^hostlat_stack_latency_seconds_bucket\{stage="([^"]+)",le="([^"]+)"\} (\S+)$', text, re.M):
    lines.setdefault(stage, []).append((le, int(v)))
checked = 0
for stage, (count, total, zero, scale, b) in want.items():
    bl = lines.get(stage) or sys.exit("no buckets for %s" % stage)
    if bl[-1] != ("+Inf", count):
        sys.exit("%s: +Inf bucket %s, count %d" % (stage, bl[-1], count))
    prev = -1
    for le, v in bl[:-1]:
        x = float(le)
        e = math.log2(x)
        if e != int(e):
            sys.exit("%s: le %s is not a power of 2" % (stage, le))
        # OTel bucket i at scale s is at or below 2^e when i + 1 <= e * 2^s
        exp = zero + sum(c for i, c in b.items() if i + 1 <= int(e) * 2 ** scale)
        if v != exp or v < prev:
            sys.exit("%s: le=%s has %d, the OTLP buckets below it %d" % (stage, le, v, exp))
        prev = v
        checked += 1
    m = re.search(r'^hostlat_stack_latency_seconds_count\{stage="%s"\} (\d+)$' % re.escape(stage), text, re.M)
    s = re.search(r'^hostlat_stack_latency_seconds_sum\{stage="%s"\} (\S+)$' % re.escape(stage), text, re.M)
    if not m or int(m.group(1)) != count or not s or abs(float(s.group(1)) - total) > 1e-12 * max(1, total):
        sys.exit("%s: _count/_sum differ from OTLP %d %r" % (stage, count, total))
print("text page: %d classic buckets over %d stages equal the OTLP collection %s" % (checked, len(want), sys.argv[4]))
PY
ok "protobuf and text pages carry the OTLP collections' values exactly"

# The small page: cut at max_bytes, the points left out counted.
curl -sS --max-time 5 -o "$TMP/small.txt" "http://127.0.0.1:$SMALL/metrics" || fail "small scrape"
[ "$(stat -c %s "$TMP/small.txt")" -le 4096 ] || fail "the small page is larger than max_bytes"
rejected() {
	"$PY" - "$TMP/metrics.jsonl" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
print(sum(int(dp["asInt"]) for a, dp in points(last_request(sys.argv[1]), "hostlat.exporter.rejected") if a["exporter"] == "small"))
PY
}
some_rejected() { [ "$(rejected)" -gt 0 ]; }
wait_for 10 some_rejected || fail "no rejected points counted for the small page"
grep -q "point(s) left out of the page" "$TMP/agent.err" || fail "no warning about the cut page"
ok "a page over max_bytes: $(stat -c %s "$TMP/small.txt") bytes, $(rejected) points counted in hostlat.exporter.rejected"

stop_agent
grep -q "ERROR\|AddressSanitizer" "$TMP/agent.err" && { cat "$TMP/agent.err"; fail "sanitizer report"; }
ok "the agent stopped cleanly"
