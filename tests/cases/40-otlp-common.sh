# Shared by the 40-otlp-*.sh tests (sourced; not a test itself: not
# executable, so tests/run.sh skips it). A real OTLP receiver
# (tests/tools/otlp_receiver.js: every body checked against the official
# OTLP protobuf schema) on 127.0.0.1, driven into fault modes through its
# control port, and helpers to read its JSON-lines log.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
command -v node >/dev/null || skip "node not installed"
[ -f tests/node_modules/@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js ] ||
	skip "npm @opentelemetry/otlp-proto-exporter-base not installed (make test-deps)"

# The receiver is on loopback: never through a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
# The agent must not pick up OTLP settings from the caller's environment.
for v in $(env | sed -n 's/^\(OTEL_EXPORTER_OTLP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

VERSION=$("$HOSTLAT" --version | awk '{print $2}')
RCV_LOG=$TMP/receiver.jsonl

# start_receiver [ARGS...]: sets RCV_PORT (OTLP) and RCV_CTL (control).
start_receiver() {
	node tests/tools/otlp_receiver.js --log "$RCV_LOG" "$@" >"$TMP/receiver.out" 2>&1 &
	RCV_PID=$!
	on_exit "kill $RCV_PID"
	wait_for 10 grep -q '^listening' "$TMP/receiver.out" || {
		cat "$TMP/receiver.out" >&2
		fail "the OTLP receiver did not start"
	}
	RCV_PORT=$(sed -n 's/^listening port=\([0-9]*\) control=.*/\1/p' "$TMP/receiver.out")
	RCV_CTL=$(sed -n 's/^listening port=[0-9]* control=\([0-9]*\)$/\1/p' "$TMP/receiver.out")
	echo "receiver: OTLP on 127.0.0.1:$RCV_PORT, control on $RCV_CTL"
}

# receiver_mode JSON: replace the receiver's settings, e.g. '{"mode":"status","code":503}'.
receiver_mode() {
	curl -sS --fail -X POST --data "$1" "http://127.0.0.1:$RCV_CTL/control" >/dev/null ||
		fail "receiver control $1 failed"
	echo "receiver: $1"
}

# n_requests: requests the receiver has logged so far.
n_requests() { if [ -f "$RCV_LOG" ]; then wc -l <"$RCV_LOG"; else echo 0; fi; }
requests_at_least() { [ "$(n_requests)" -ge "$1" ]; }

# Network namespaces for traffic; `traffic N` runs a TCP server in NS_B that
# reads each message DELAY ms after it arrives (its own port each time: the
# server takes one connection) and sends it N messages from NS_A.
TRAFFIC_PORT=5000
start_traffic_server() {
	netns_pair snd rcv
	TRAFFIC_DELAY=${1:-2}
}
traffic() {
	local pid out
	TRAFFIC_PORT=$((TRAFFIC_PORT + 1))
	# One output file per server: with a shared one, the wait below could
	# see the previous server's "listening" before this one's redirection
	# truncated the file, and the client would connect too early.
	out=$TMP/server-$TRAFFIC_PORT.out
	ip netns exec "$NS_B" "$PY" tests/tools/tcp_delay.py server "$TRAFFIC_PORT" \
		"$TRAFFIC_DELAY" >"$out" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	wait_for 10 grep -q listening "$out" || fail "TCP server did not start"
	ip netns exec "$NS_A" "$PY" tests/tools/tcp_delay.py client 198.18.0.2 "$TRAFFIC_PORT" \
		"$1" || fail "TCP client failed"
	wait "$pid" || true
}

# Python helpers over the receiver log (imported by the checks).
cat >"$TMP/rcv.py" <<'PY'
import json


def requests(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def batch_time(req):
    """The collection time of the batch a request carries."""
    times = {p["timeUnixNano"] for m in req.get("metrics", []) for p in m["points"]}
    if len(times) != 1:
        raise SystemExit("request %d: %d different timeUnixNano" % (req["seq"], len(times)))
    return int(times.pop())


def points(req, name):
    for m in req.get("metrics", []):
        if m["name"] == name:
            for p in m["points"]:
                yield p


def by_stage(req, name, field):
    return {p["attributes"]["stage"]: int(p[field]) for p in points(req, name)}


def stdout_points(line, name, field):
    """Same from an OTLP JSON request as written by the stdout exporter."""
    out = {}
    for rm in line["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                if m["name"] != name:
                    continue
                data = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
                for dp in data["dataPoints"]:
                    a = {x["key"]: list(x["value"].values())[0] for x in dp["attributes"]}
                    out[a["stage"]] = int(dp[field])
    return out


def stdout_lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def stdout_time(line):
    for rm in line["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                data = m.get("exponentialHistogram") or m.get("sum") or m.get("gauge")
                return int(data["dataPoints"][0]["timeUnixNano"])
PY
