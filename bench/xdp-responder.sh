#!/usr/bin/env bash
# The in-kernel monitoring responder (issue 6) against a conventional one:
# the round-trip time of monitoring requests (`hostlat ping`) answered by
#   xdp   probes.xdp_responder (generic XDP on the server's veth, summing the
#         stack_latency, softirq and drops maps of the agent for each reply)
#   user  `hostlat respond`: the same protocol from a UDP socket in user
#         space, reading /proc for each reply
# with the server idle, and with every CPU saturated by busy processes
# (BUSY_PER_CPU per CPU, normal priority, like the load in the seed's
# experiment). The monitor normally runs on another machine; here it shares
# the CPUs, so it runs as a real-time task (chrt -f) to stay out of the
# load it measures, and times each request from send to receive.
#
# Runs alternate xdp, user (idle), then xdp, user (saturated), ROUNDS times;
# each run sends COUNT requests INTERVAL apart. The four distributions are
# printed side by side with the ratios user / xdp.
#
# Env: ROUNDS (2), COUNT (3000), INTERVAL (1ms), BUSY_PER_CPU (2),
# BENCH_QUICK=1 (1 round of 1000).
source "$(dirname "$0")/lib.sh"
bench_need chrt nproc

ROUNDS=${ROUNDS:-$(bench_secs 2 1)}
COUNT=${COUNT:-$(bench_secs 3000 1000)}
INTERVAL=${INTERVAL:-1ms}
BUSY_PER_CPU=${BUSY_PER_CPU:-2}
XDP_PORT=7401
USER_PORT=7402

netns_pair cli srv
cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  xdp_responder:
    enabled: true
    interface: $VETH_B
    mode: generic
    port: $XDP_PORT
    allow: [198.18.0.0/24]
    rate_limit: 0
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_probes "$TMP/hostlat.yaml" xdp_responder stack_latency softirq drops
AGENT_NETNS=$NS_B start_agent "$TMP/hostlat.yaml"
ip netns exec "$NS_B" "$HOSTLAT" respond --port $USER_PORT 2>"$TMP/respond.err" &
on_exit "kill $!"
wait_for 10 grep -q answering "$TMP/respond.err" || fail "hostlat respond did not start"

busy=()
load_on() {
	local i
	for ((i = 0; i < $(nproc) * BUSY_PER_CPU; i++)); do
		sh -c 'while :; do :; done' &
		busy+=($!)
		on_exit "kill ${busy[-1]}"
	done
	sleep 1 # let the scheduler spread them
}
load_off() {
	kill "${busy[@]}"
	wait "${busy[@]}" 2>/dev/null || true
	busy=()
}

run() { # run NAME PORT ROUND
	ip netns exec "$NS_A" chrt -f 50 "$HOSTLAT" ping --json -c "$COUNT" -i "$INTERVAL" -W 1s \
		"198.18.0.2:$2" >"$TMP/$1.$3.json" || fail "$1: no reply at all"
	echo "  $1 round $3: $(tail -n 1 "$TMP/$1.$3.json")"
}

for ((r = 1; r <= ROUNDS; r++)); do
	run xdp-idle $XDP_PORT $r
	run user-idle $USER_PORT $r
	load_on
	run xdp-saturated $XDP_PORT $r
	run user-saturated $USER_PORT $r
	load_off
done
stop_agent

bench_py - "$TMP" "$ROUNDS" "$COUNT" "$INTERVAL" "$(($(nproc) * BUSY_PER_CPU))" >"$TMP/result.json" <<'PY'
import glob, json, sys
import benchlib

tmp, rounds, count, interval, busy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
runs = {}
for name in ("xdp-idle", "user-idle", "xdp-saturated", "user-saturated"):
    rtt, sent, got = [], 0, 0
    for path in sorted(glob.glob("%s/%s.*.json" % (tmp, name))):
        lines = [json.loads(l) for l in open(path) if l.startswith("{")]
        rtt += [l["rtt_ns"] / 1e3 for l in lines if "seq" in l]
        sent += lines[-1]["sent"]
        got += lines[-1]["received"]
    runs[name] = {"sent": sent, "received": got, "lost": sent - got,
                  "p50_us": benchlib.percentile(rtt, 50), "p90_us": benchlib.percentile(rtt, 90),
                  "p99_us": benchlib.percentile(rtt, 99), "max_us": max(rtt)}
ratios = {}
for load in ("idle", "saturated"):
    x, u = runs["xdp-" + load], runs["user-" + load]
    ratios[load] = {p: u[p + "_us"] / x[p + "_us"] for p in ("p50", "p90", "p99")}
print(json.dumps({"rounds": rounds, "requests_per_run": count, "interval": interval,
                  "busy_processes": busy, "rtt": runs, "ratio_user_over_xdp": ratios}))

out = sys.stderr
print("\nmonitoring round trip, %d requests per set-up, %s apart, %d busy processes when "
      "saturated" % (rounds * count, interval, busy), file=out)
print("%-26s %9s %9s %9s %9s %6s" % ("responder", "p50 us", "p90 us", "p99 us", "max us", "lost"),
      file=out)
for name, r in runs.items():
    print("%-26s %9.1f %9.1f %9.1f %9.1f %6d" % (name, r["p50_us"], r["p90_us"], r["p99_us"],
                                                r["max_us"], r["lost"]), file=out)
for load, q in ratios.items():
    print("user / xdp, %-9s p50 %.1fx  p90 %.1fx  p99 %.1fx" % (load, q["p50"], q["p90"], q["p99"]),
          file=out)
PY
bench_record xdp_responder "$TMP/result.json"
