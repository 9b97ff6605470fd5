# Shared by the 40-otlp-*.sh tests (sourced; not a test itself: not
# executable, so tests/run.sh skips it). A real OTLP receiver
# (tests/tools/otlp_receiver.js: every body checked against the official
# OTLP protobuf schema) on 127.0.0.1, driven into fault modes through its
# control port, and helpers to read its JSON-lines log.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
need_otlp_receiver
isolate_env

VERSION=$("$HOSTLAT" --version | awk '{print $2}')
RCV_LOG=$TMP/receiver.jsonl

# start_receiver [ARGS...]: the receiver, logging to RCV_LOG; sets RCV_PORT
# (OTLP) and RCV_CTL (control: receiver_mode).
start_receiver() {
	start_otlp_receiver "$TMP/receiver.out" --log "$RCV_LOG" "$@"
	echo "receiver: OTLP on 127.0.0.1:$RCV_PORT, control on $RCV_CTL"
}

# n_requests: requests the receiver has logged so far.
n_requests() { count_lines "$RCV_LOG"; }
requests_at_least() { lines_at_least "$1" "$RCV_LOG"; }

# Network namespaces for traffic; `traffic N`: N messages from NS_A to a TCP
# server in NS_B that reads each DELAY ms after it arrives (tcp_reads).
start_traffic_server() {
	netns_pair snd rcv
	TRAFFIC_DELAY=${1:-2}
}
traffic() { tcp_reads "$1" "$TRAFFIC_DELAY"; }

# Python helpers over the receiver log (imported by the checks).
cat >"$TMP/rcv.py" <<'PY'
import json


def requests(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def valid_requests(path):
    """requests(path); exits naming them when any is not valid OTLP."""
    reqs = requests(path)
    bad = [r["seq"] for r in reqs if not r["valid"]]
    if bad:
        raise SystemExit("invalid requests: %s" % bad)
    return reqs


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
