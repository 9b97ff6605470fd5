#!/usr/bin/env bash
# Tail-latency inflation: nginx in one namespace serves files of 1 kB,
# 100 kB and 1 MB over a veth pair; wrk in the other drives it (keep-alive,
# one thread) at several concurrency levels, with no monitoring (A), with
# hostlat (B: every probe on, traffic sampled on the veth) and with the
# bpftrace equivalent (C: bench/bpftrace/hostlat.bt). The set-ups alternate
# A B C A B C ... (ROUNDS rounds, each running every workload), so drift
# hits all three alike; the table gives the median over the rounds of p50,
# p99 and p99.9 and each one's inflation over A.
#
# Env: ROUNDS (3), DURATION (5 s per workload), CONNS ("4 32"), BENCH_QUICK=1.
source "$(dirname "$0")/lib.sh"
bench_need nginx wrk bpftrace

ROUNDS=${ROUNDS:-$(bench_secs 3 1)}
DURATION=${DURATION:-$(bench_secs 5 2)}
CONNS=${CONNS:-4 32}
SIZES="1k 100k 1m"

netns_pair cli srv
mkdir -p "$TMP/www" "$TMP/nginx"
head -c 1000 /dev/urandom >"$TMP/www/1k"
head -c 100000 /dev/urandom >"$TMP/www/100k"
head -c 1000000 /dev/urandom >"$TMP/www/1m"
# nginx's worker runs as its own user: it must reach the files.
chmod 711 "$TMP"
chmod 755 "$TMP/www"
chmod 644 "$TMP/www/"*
cat >"$TMP/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path $TMP/nginx;
	proxy_temp_path $TMP/nginx;
	fastcgi_temp_path $TMP/nginx;
	uwsgi_temp_path $TMP/nginx;
	scgi_temp_path $TMP/nginx;
	server {
		listen 198.18.0.2:8080;
		root $TMP/www;
	}
}
CONF
ip netns exec "$NS_B" nginx -c "$TMP/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx.out" 2>&1 &
pid=$!
on_exit "kill $pid"
wait_for 10 bash -c "ip netns exec $NS_B ss -ltn | grep -q 198.18.0.2:8080" || { cat "$TMP/nginx.out" "$TMP/nginx/error.log" >&2; fail "nginx did not start"; }
bench_agent_config "$TMP/hostlat.yaml"
# stack: only the stack-latency probe, the netstacklat-equivalent set-up.
printf 'agent: { interval: 1s, log_level: info }\nprobes:\n  stack_latency: { filters: { network_namespace: host } }\nexporters:\n  - { type: stdout, format: json, output: %s }\n' \
	"$TMP/metrics-stack.jsonl" >"$TMP/stack.yaml"
only_probes "$TMP/stack.yaml" stack_latency

: >"$TMP/runs.jsonl"
for r in $(seq 1 "$ROUNDS"); do
	for s in none hostlat stack bpftrace; do
		start_setup $s
		for c in $CONNS; do
			for f in $SIZES; do
				out=$(ip netns exec "$NS_A" wrk -t1 -c "$c" -d "${DURATION}s" --timeout 5s \
					-s bench/wrk-report.lua "http://198.18.0.2:8080/$f" | tail -n 1)
				[[ $out == "{"* ]] || fail "wrk failed: $out"
				echo "{\"round\": $r, \"setup\": \"$s\", \"conns\": $c, \"size\": \"$f\", \"wrk\": $out}" >>"$TMP/runs.jsonl"
			done
		done
		stop_setup
		echo "round $r: $s done"
	done
done

bench_py - "$TMP/runs.jsonl" "$TMP/result.json" <<'PY'
import json, sys
import benchlib

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
errors = sum(r["wrk"]["errors"] for r in runs)
keys = sorted({(r["conns"], r["size"]) for r in runs}, key=lambda k: (k[0], ["1k", "100k", "1m"].index(k[1])))
rows, result = [], []
for c, size in keys:
    med = {}
    for s in ("none", "hostlat", "stack", "bpftrace"):
        rs = [r["wrk"] for r in runs if r["setup"] == s and r["conns"] == c and r["size"] == size]
        med[s] = {q: benchlib.median([x[q + "_us"] for x in rs]) for q in ("p50", "p99", "p999")}
        med[s]["rps"] = benchlib.median([x["requests"] / (x["duration_us"] / 1e6) for x in rs])
    row = ["%s x%d" % (size, c)]
    entry = {"size": size, "conns": c}
    for q in ("p50", "p99", "p999"):
        a, b, k, t = med["none"][q], med["hostlat"][q], med["stack"][q], med["bpftrace"][q]
        row += ["%d" % a, "%d (%+.0f%%)" % (b, 100 * (b / a - 1)), "%d (%+.0f%%)" % (k, 100 * (k / a - 1)),
                "%d (%+.0f%%)" % (t, 100 * (t / a - 1))]
        entry[q] = {"none_us": a, "hostlat_us": b, "stack_us": k, "bpftrace_us": t,
                    "hostlat_inflation": b / a - 1, "stack_inflation": k / a - 1, "bpftrace_inflation": t / a - 1}
    row += ["%.0f" % med["none"]["rps"], "%+.1f%%" % (100 * (med["hostlat"]["rps"] / med["none"]["rps"] - 1)),
            "%+.1f%%" % (100 * (med["bpftrace"]["rps"] / med["none"]["rps"] - 1))]
    entry["rps"] = med["none"]["rps"]
    entry["rps_hostlat"] = med["hostlat"]["rps"]
    entry["rps_bpftrace"] = med["bpftrace"]["rps"]
    rows.append(row)
    result.append(entry)
print("HTTP latency (us), median over rounds: none | hostlat, every probe (inflation) | stack_latency only | bpftrace")
benchlib.table(["file x conns", "p50", "hostlat", "stack", "bpftrace", "p99", "hostlat", "stack", "bpftrace",
                "p99.9", "hostlat", "stack", "bpftrace", "req/s", "hostlat", "bpftrace"], rows)
print("wrk errors over all runs: %d" % errors)
if errors:
    sys.exit("wrk saw errors: the figures are not of a working server")
with open(sys.argv[2], "w") as f:
    json.dump({"rounds": max(r["round"] for r in runs), "wrk_errors": errors, "workloads": result}, f)
PY
bench_record tail_latency "$TMP/result.json"
