#!/usr/bin/env bash
# The statsd exporter against the original StatsD daemon (npm statsd 0.9.0).
# Real traffic between two network namespaces (as in 30-stack-latency); the
# agent (ASan build, interval 1 s) sends to the daemon through four statsd
# exporters (percentiles / buckets x name segments / dogstatsd tags, 200-byte
# datagrams to force packing), one statsd exporter to a port nobody listens
# on, and a stdout JSON exporter for the expected values. Checks: the daemon
# saw no bad line; every datagram is <= 200 bytes and made of whole, valid
# lines; the counters and timer counts the daemon aggregated equal the
# agent's final cumulative values, and so do the raw lines.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
need_npm statsd/stats.js statsd

MAX=200
# Two free UDP ports (daemon, dead end) and a free TCP port (management).
read -r PORT DEAD MGMT < <("$PY" - <<'PY'
import socket
socks = [socket.socket(socket.AF_INET, t) for t in (socket.SOCK_DGRAM, socket.SOCK_DGRAM, socket.SOCK_STREAM)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)

mgmt() { # mgmt COMMAND: the daemon's answer up to END
	"$PY" - "$MGMT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while b"END" not in buf and not buf.startswith(b"health") and not buf.startswith(b"ERROR"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode())
PY
}

cat >"$TMP/statsd.js" <<JS
{
  port: $PORT, address: "127.0.0.1", mgmt_address: "127.0.0.1", mgmt_port: $MGMT,
  backends: ["./backends/console", "$PWD/tests/tools/statsd_json_backend.js"],
  flushInterval: 1000, dumpMessages: true, deleteIdleStats: true,
  percentThreshold: [50, 90, 99], console: { prettyprint: false },
  jsonlog: { file: "$TMP/statsd.jsonl" }
}
JS
node tests/node_modules/statsd/stats.js "$TMP/statsd.js" >"$TMP/statsd.out" 2>&1 &
on_exit "kill $!"
daemon_up() { mgmt health 2>/dev/null | grep -q "health: up"; }
wait_for 20 daemon_up || { cat "$TMP/statsd.out" >&2; fail "StatsD daemon did not start"; }
ok "StatsD daemon on udp/$PORT, management on tcp/$MGMT"

netns_pair snd rcv
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    histogram_scale: 3
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: statsd, address: "127.0.0.1:$PORT", prefix: hlp, max_packet_bytes: $MAX }
  - { type: statsd, address: "127.0.0.1:$PORT", prefix: hlb., max_packet_bytes: $MAX,
      histogram_mode: buckets }
  - { type: statsd, address: "127.0.0.1:$PORT", prefix: hlq., max_packet_bytes: $MAX,
      tags: dogstatsd }
  - { type: statsd, address: "127.0.0.1:$PORT", prefix: hld., max_packet_bytes: $MAX,
      histogram_mode: buckets, tags: dogstatsd }
  - { type: statsd, address: "[::1]:$DEAD", prefix: dead. }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency
"$HOSTLAT" --config "$TMP/hostlat.yaml" --check >/dev/null || fail "--check failed"
start_agent "$TMP/hostlat.yaml"

# About three agent intervals of traffic.
tcp_reads 400 2
udp_reads 300 5002
sleep 1.2
stop_agent
STOPPED=$(date +%s)
# The daemon flushes every second: wait for a flush 2 s after the agent's last datagram.
flushed_after_stop() {
	"$PY" -c '
import json, sys
sys.exit(0 if any(json.loads(l).get("flush", 0) >= int(sys.argv[2]) + 2 for l in open(sys.argv[1])) else 1)
' "$TMP/statsd.jsonl" "$STOPPED"
}
wait_for 10 flushed_after_stop || fail "the daemon did not flush after the agent stopped"
mgmt stats >"$TMP/stats.txt"
cat "$TMP/stats.txt"
grep -q "^messages.bad_lines_seen: 0$" "$TMP/stats.txt" || {
	grep "Bad line" "$TMP/statsd.out" | head >&2
	fail "the daemon saw bad lines"
}
ok "no bad lines (management 'stats')"
echo "agent log lines about failed exports: $(grep -ci "fail\|not sent" "$TMP/agent.err" || true)"

"$PY" - "$TMP/metrics.jsonl" "$TMP/statsd.jsonl" "$MAX" <<'PY'
import json, re, sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, metrics, attrs

otlp, log, maxb = sys.argv[1], sys.argv[2], int(sys.argv[3])
req = last_request(otlp)  # the final batch: cumulative since start

def san(s, dots=True):
    s = re.sub(r"[^A-Za-z0-9_.-]", "_", s) if s else "_"
    return s if dots else s.replace(".", "_")

def key(prefix, name, a, suffix="", tags=False):
    """The daemon's key for a line of ours (tags become ;k=v)."""
    base = prefix + san(name[len("hostlat."):])
    if tags:
        return base + suffix + "".join(";%s=%s" % (san(k), san(v)) for k, v in a.items())
    return base + "".join(".%s.%s" % (san(k), san(v, False)) for k, v in a.items()) + suffix

# Expected values, from the agent's cumulative points.
exp_counters = {}   # daemon counter key -> value
exp_timers = {}     # daemon timer key -> (count, min ms, max ms)
exp_gauges = {}     # daemon gauge key -> value
n_hist = 0
for m in metrics(req):
    name = m["name"]
    if not name.startswith(("hostlat.probe.", "hostlat.stack.")):
        continue  # the core's self-metrics: not what this test is about
    if "exponentialHistogram" in m:
        for dp in m["exponentialHistogram"]["dataPoints"]:
            a, count = attrs(dp), int(dp["count"])
            if not count:
                continue
            n_hist += 1
            for p, tags in (("hlp.", False), ("hlq.", True)):
                exp_counters[key(p, name, a, ".count", tags)] = count
                exp_counters[key(p, name, a, ".sum", tags)] = dp["sum"] * 1e3
            for p, tags in (("hlb.", False), ("hld.", True)):
                # A bucket's value stays within the buckets of the min and the max.
                base = 2 ** (2.0 ** -dp["scale"])
                exp_timers[key(p, name, a, "", tags)] = (count, dp["min"] * 1e3 / base,
                                                         dp["max"] * 1e3 * base)
    elif "sum" in m:
        for dp in m["sum"]["dataPoints"]:
            v = int(dp.get("asInt", 0))
            if v:
                for p in ("hlp.", "hlb."):
                    exp_counters[key(p, name, attrs(dp))] = v
                for p in ("hlq.", "hld."):
                    exp_counters[key(p, name, attrs(dp), "", True)] = v
    else:
        for dp in m["gauge"]["dataPoints"]:
            v = float(dp.get("asDouble", dp.get("asInt", 0)))
            for p in ("hlp.", "hlb."):
                exp_gauges[key(p, name, attrs(dp))] = v
            for p in ("hlq.", "hld."):
                exp_gauges[key(p, name, attrs(dp), "", True)] = v
if n_hist == 0:
    sys.exit("the agent recorded no latency samples")

# What the daemon received and aggregated.
line_re = re.compile(r"^([A-Za-z0-9_.-]+):(-?[0-9]+(?:\.[0-9]+)?)\|(c|g|ms)(?:\|@(0\.[0-9]+|1))?"
                     r"(?:\|#([A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(?:,[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+)*))?$")
got_counters, got_timer_counts, got_gauges = {}, {}, {}
got_timer_values = {}
raw_counters, raw_timer_counts = {}, {}
n_packets = n_packed = 0
for l in open(log):
    r = json.loads(l)
    if "packet" in r:
        n_packets += 1
        if r["packet"] > maxb:
            sys.exit("datagram of %d bytes > %d: %r" % (r["packet"], maxb, r["text"]))
        lines = r["text"].split("\n")
        n_packed += len(lines) > 1
        for line in lines:
            mo = line_re.match(line)
            if not mo:
                sys.exit("malformed line %r in datagram %r" % (line, r["text"]))
            name, val, typ, rate, tags = mo.groups()
            k = name + ("".join(";" + t.replace(":", "=") for t in tags.split(",")) if tags else "")
            w = 1 / float(rate) if rate else 1
            if "e" in (rate or "") or w != round(w):
                sys.exit("inexact sample rate in %r" % line)
            if typ == "c":
                raw_counters[k] = raw_counters.get(k, 0) + float(val) * w
            elif typ == "ms":
                raw_timer_counts[k] = raw_timer_counts.get(k, 0) + w
    else:
        for k, v in r["counters"].items():
            got_counters[k] = got_counters.get(k, 0) + v
        for k, v in r["timer_counts"].items():
            got_timer_counts[k] = got_timer_counts.get(k, 0) + v
        for k, vs in r["timers"].items():
            got_timer_values.setdefault(k, []).extend(vs)
        got_gauges.update(r["gauges"])
print("%d datagrams, %d with several lines; %d histogram points, %d counters, %d timers, %d gauges expected"
      % (n_packets, n_packed, n_hist, len(exp_counters), len(exp_timers), len(exp_gauges)))
if n_packed == 0:
    sys.exit("no datagram carried more than one line")
if got_counters.get("statsd.bad_lines_seen", 0) != 0:
    sys.exit("statsd.bad_lines_seen = %s" % got_counters["statsd.bad_lines_seen"])

def close(a, b):
    return abs(a - b) <= 1e-6 * max(1, abs(b))

errors = []
for k, v in sorted(exp_counters.items()):
    for what, got in (("daemon", got_counters), ("lines", raw_counters)):
        if not close(got.get(k, 0), v):
            errors.append("counter %s: %s %s, agent %s" % (k, what, got.get(k), v))
for k, (count, lo, hi) in sorted(exp_timers.items()):
    for what, got in (("daemon", got_timer_counts), ("lines", raw_timer_counts)):
        if got.get(k) != count:
            errors.append("timer %s: %s count %s, agent %s" % (k, what, got.get(k), count))
    bad = [v for v in got_timer_values.get(k, []) if not (lo - 1e-6 <= v <= hi + 1e-6)]
    if bad:
        errors.append("timer %s: values %s outside the agent's [%s, %s] ms" % (k, bad[:5], lo, hi))
for k, v in sorted(exp_gauges.items()):
    if got_gauges.get(k) != v:
        errors.append("gauge %s: daemon %s, agent %s" % (k, got_gauges.get(k), v))
# Nothing of ours the agent did not export.
ours = tuple(p + n for p in ("hlp.", "hlb.", "hlq.", "hld.") for n in ("probe.", "stack."))
extra = [k for k in got_counters if k.startswith(ours) and k not in exp_counters and
         not re.search(r"\.p(50|90|99)$|\.max$", k)]
extra += [k for k in got_timer_counts if k.startswith(ours) and k not in exp_timers]
if extra:
    errors.append("keys the agent did not export: %s" % extra[:10])
for e in errors:
    print(e)
if errors:
    sys.exit("%d mismatches" % len(errors))
for k in sorted(exp_timers)[:4] + sorted(exp_counters)[:4]:
    print("  %-80s ok" % k)
PY
ok "the daemon's counters and timer counts equal the agent's totals"

# Percentile gauges arrive (the last interval's values, in ms, within the max).
grep -q '"hlp\.stack\.latency\.stage\.tcp-socket-read\.p99":[0-9.]*[,}]' "$TMP/statsd.jsonl" ||
	fail "no p99 gauge for tcp-socket-read"
grep -q '"hlq\.stack\.latency\.p50;stage=tcp-socket-read":' "$TMP/statsd.jsonl" ||
	fail "no tagged p50 gauge for tcp-socket-read"
ok "percentile gauges present"
