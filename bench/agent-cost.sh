#!/usr/bin/env bash
# The agent's own cost: user+system CPU time per interval and peak RSS, with
# every probe and every exporter on (stdout JSON to a file, otlp_http with
# gzip, statsd, the csv plugin), at 1 s and 10 s intervals, while TCP
# request/response and a 200 Mbit/s stream run through the sampled veth.
# Also the bytes each exporter sends per interval: OTLP on the wire (gzip)
# and before compression, StatsD datagrams, stdout JSON lines.
#
# CPU (all threads, ns from schedstat) is read between the 2nd export and N exports later
# (start-up excluded); peak RSS is VmHWM at the end, beside the RSS then split
# into anonymous memory (RssAnon: heap, stacks, BPF map copies) and file-backed
# pages (RssFile + RssShmem: the binary, its libraries). Last, the same for the
# embedded default config (make run). Env: BENCH_QUICK=1.
source "$(dirname "$0")/lib.sh"
bench_need iperf3 sockperf
[ -r "$BUILD/plugins/hostlat_csv.so" ] || fail "$BUILD/plugins/hostlat_csv.so is missing: make BUILD=$BUILD all"

N1=$(bench_secs 20 5)
N10=$(bench_secs 4 1)
ND=$(bench_secs 2 1)
netns_pair cli srv
bench_servers

start_listener sink ip netns exec "$NS_B" "$PY" bench/sink.py "$TMP/sink.jsonl" 4318 8125

# Background traffic for the whole bench.
total=$((N1 + 3 + (N10 + 3) * 10 + 10))
ip netns exec "$NS_A" sockperf ping-pong --tcp -i 198.18.0.2 -p 11111 -t "$total" >/dev/null 2>&1 &
pid=$!
on_exit "kill $pid"
ip netns exec "$NS_A" iperf3 -c 198.18.0.2 -p 5201 -b 200M -t "$total" >/dev/null 2>&1 &
pid=$!
on_exit "kill $pid"

# measure PID FILE PREFIX N OUT: CPU and memory of the agent PID between its
# 2nd export and N exports later (an export: a line of FILE that starts with
# PREFIX). CPU in ns from /proc/PID/task/*/schedstat (the tick counts of
# /proc/PID/stat are 10 ms coarse), or from the ticks when a thread came or
# went in between (schedstat does not keep an exited thread's time).
measure() {
	"$PY" - "$@" <<'PY'
import glob, os, sys, time
pid, path, prefix, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
tck = os.sysconf("SC_CLK_TCK")


def exports():
    try:
        with open(path, errors="replace") as f:
            return sum(1 for l in f if l.startswith(prefix))
    except OSError:
        return 0


def cpu():
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ns = {}
    for t in glob.glob("/proc/%s/task/*/schedstat" % pid):
        try:
            with open(t) as f:
                ns[t] = int(f.read().split()[0])
        except OSError:
            pass
    return (int(fields[11]) + int(fields[12])) / tck, int(fields[11]) / tck, ns


def wait(k):
    while exports() < k:
        time.sleep(0.01)


wait(2)
c0, u0, ns0 = cpu()
t0 = time.time()
wait(2 + n)
c1, u1, ns1 = cpu()
t1 = time.time()
if set(ns0) == set(ns1):
    c = sum(ns1.values()) / 1e9 - sum(ns0.values()) / 1e9
    src = "schedstat"
else:
    c, src = c1 - c0, "ticks"
with open("/proc/%s/status" % pid) as f:
    st = {l.split(":")[0]: l.split()[1] for l in f if l.split(":")[0] in ("VmHWM", "RssAnon", "RssFile", "RssShmem")}
with open(out, "w") as f:
    f.write("%f %f %f %s %f %f %s %s %s %s\n" % (c, u1 - u0, t1 - t0, st["VmHWM"], t0, t1,
                                                st["RssAnon"], st["RssFile"], st["RssShmem"], src))
PY
}

run_interval() {
	local iv=$1 n=$2 tag=$3
	cat >"$TMP/$tag.yaml" <<YAML
agent: { interval: $iv, log_level: info }
probes:
  stack_latency: { filters: { network_namespace: host } }
  traffic:
    interfaces: [$VETH_B]
    link_speed: 10000
    store: { dir: $TMP/traffic-$tag }
exporters:
  - { type: stdout, format: json, output: $TMP/$tag.jsonl }
  - { type: otlp_http, endpoint: "http://127.0.0.1:4318", compression: gzip }
  - { type: statsd, address: "127.0.0.1:8125" }
  - { type: plugin, path: $PWD/$BUILD/plugins/hostlat_csv.so, config: { file: $TMP/$tag.csv } }
YAML
	: >"$TMP/sink.jsonl"
	ip netns exec "$NS_B" "$HOSTLAT" --config "$TMP/$tag.yaml" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
	local apid=$!
	on_exit "kill -9 $apid"
	wait_for 30 grep -q "running" "$TMP/$tag.err" || { cat "$TMP/$tag.err" >&2; fail "agent did not start"; }
	measure "$apid" "$TMP/$tag.jsonl" "" "$n" "$TMP/$tag.cpu"
	kill -INT "$apid"
	wait "$apid" || true
	cp "$TMP/sink.jsonl" "$TMP/$tag.sink.jsonl"
	echo "interval $iv: done"
}

# The embedded default config (what make run runs: every probe the kernel
# supports, the pretty stdout screen, a 10 s interval), in the host's network
# namespace as a user starts it: its CPU and resident memory in steady state.
run_default() {
	"$HOSTLAT" >"$TMP/default.out" 2>"$TMP/default.err" &
	local apid=$!
	on_exit "kill -9 $apid"
	wait_for 30 grep -q "running" "$TMP/default.err" || { cat "$TMP/default.err" >&2; fail "agent did not start"; }
	measure "$apid" "$TMP/default.out" "=== hostlat" "$ND" "$TMP/default.cpu"
	kill -INT "$apid"
	wait "$apid" || true
	echo "default config: done"
}

run_interval 1s "$N1" i1
run_interval 10s "$N10" i10
run_default

bench_py - "$TMP" "$N1" "$N10" "$ND" <<'PY'
import json, os, sys
import benchlib

tmp, n1, n10, nd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows, res = [], {}


def measured(tag):
    with open(os.path.join(tmp, tag + ".cpu")) as f:
        cpu, user, wall, hwm, t0, t1, anon, filed, shmem, src = f.read().split()
    return (float(cpu), float(user), float(wall), int(hwm), float(t0), float(t1), int(anon),
            int(filed) + int(shmem), src)


for tag, iv, n in (("i1", 1, n1), ("i10", 10, n10)):
    cpu, user, wall, hwm, t0, t1, anon, filed, src = measured(tag)
    with open(os.path.join(tmp, tag + ".sink.jsonl")) as f:
        ev = [json.loads(l) for l in f if l.strip()]
    # The n batches collected after the first measured export (each is one
    # OTLP request: far below max_request_bytes); StatsD by time window.
    otlp = sorted((e for e in ev if e["kind"] == "otlp" and e["t"] > t0), key=lambda e: e["t"])[:n]
    otlp_wire = sum(e["wire"] for e in otlp) / n
    otlp_raw = sum(e["raw"] for e in otlp) / n
    statsd = sum(e["wire"] for e in ev if e["kind"] == "statsd" and t0 < e["t"] <= t1) / n
    with open(os.path.join(tmp, tag + ".jsonl")) as f:
        json_lines = [len(l) for l in f][2:2 + n]
    stdout_b = sum(json_lines) / max(1, len(json_lines))
    per = cpu / n
    rows.append(["every probe, %d s" % iv, str(n), "%.2f" % (per * 1e3), "%.3f" % (100 * cpu / wall), "%.1f" % (hwm / 1024.0),
                 "%.1f" % (anon / 1024.0), "%.1f" % (filed / 1024.0),
                 "%.0f" % (otlp_raw / 1024), "%.1f" % (otlp_wire / 1024), "%.1f" % (statsd / 1024), "%.0f" % (stdout_b / 1024)])
    res["interval_%ds" % iv] = {"intervals": n, "cpu_ms_per_interval": per * 1e3, "user_ms_per_interval": user / n * 1e3,
                                "cpu_percent": 100 * cpu / wall, "cpu_source": src, "peak_rss_kib": hwm,
                                "rss_anon_kib": anon, "rss_file_kib": filed,
                                "otlp_raw_bytes_per_interval": otlp_raw, "otlp_gzip_bytes_per_interval": otlp_wire,
                                "statsd_bytes_per_interval": statsd, "stdout_json_bytes_per_interval": stdout_b}
cpu, user, wall, hwm, t0, t1, anon, filed, src = measured("default")
rows.append(["default config, 10 s", str(nd), "%.2f" % (cpu / nd * 1e3), "%.3f" % (100 * cpu / wall),
             "%.1f" % (hwm / 1024.0), "%.1f" % (anon / 1024.0), "%.1f" % (filed / 1024.0), "-", "-", "-", "-"])
res["default_config"] = {"intervals": nd, "cpu_ms_per_interval": cpu / nd * 1e3, "cpu_percent": 100 * cpu / wall,
                         "cpu_source": src, "peak_rss_kib": hwm, "rss_anon_kib": anon, "rss_file_kib": filed}
print("Agent cost: every probe and every exporter on, and the embedded default config (CPU: all threads)")
benchlib.table(["set-up", "intervals", "CPU ms/interval", "CPU %", "peak RSS MiB",
                "RSS anon MiB", "RSS file MiB", "OTLP raw KiB",
                "OTLP gzip KiB", "StatsD KiB", "stdout JSON KiB"], rows)
with open(os.path.join(tmp, "result.json"), "w") as f:
    json.dump(res, f)
PY
bench_record agent_cost "$TMP/result.json"
