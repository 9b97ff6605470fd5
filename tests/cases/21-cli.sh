#!/usr/bin/env bash
# The agent's command line and its user-facing errors: each gives one clear
# message and the documented exit status, and the agent never crashes.
source "$(dirname "$0")/../lib.sh"

expect 0 "Usage: hostlat" "$HOSTLAT" --help
expect 0 "^hostlat [0-9]+\.[0-9]+\.[0-9]+" "$HOSTLAT" --version
expect 2 "unrecognized option|Usage" "$HOSTLAT" --bogus
expect 2 "unknown log level 'loud'" "$HOSTLAT" --log-level loud --check
expect 2 "cannot read" "$HOSTLAT" --config "$TMP/nope.yaml" --check
expect 0 "probes:" "$HOSTLAT" --print-default-config
expect 0 "agent.interval" "$HOSTLAT" --config-reference

printf 'agent:\n  interval: 10 seconds\n' >"$TMP/bad1.yaml"
expect 2 "bad1.yaml:2:13: .*interval" "$HOSTLAT" --config "$TMP/bad1.yaml" --check
printf 'probes:\n  stack_latency:\n    stagez: [ip-start]\n' >"$TMP/bad2.yaml"
expect 2 "bad2.yaml:3:5: .*stagez" "$HOSTLAT" --config "$TMP/bad2.yaml" --check
printf 'probes:\n  stack_latency:\n    stages: [ip-start, tcp-finish]\n' >"$TMP/bad3.yaml"
expect 2 "bad3.yaml:3:.*tcp-finish" "$HOSTLAT" --config "$TMP/bad3.yaml" --check
printf 'agent: [1, 2\n' >"$TMP/bad4.yaml"
expect 2 "bad4.yaml:[0-9]+:[0-9]+:" "$HOSTLAT" --config "$TMP/bad4.yaml" --check

# The embedded default config is valid and --check lists every stage.
check_runs "$TMP/out" "$HOSTLAT" --check
grep -q "udp-socket-read" "$TMP/out" || fail "--check does not list every stage"

# Runtime errors a user can cause: exit 1, one clear message, no crash,
# when the probe at fault is the only one; with other probes enabled the
# error is reported and the others run.
if [ "$(id -u)" = 0 ]; then
	printf 'probes:\n  stack_latency:\n    filters: { interfaces: [nosuch0] }\n' >"$TMP/noif.yaml"
	printf 'probes:\n  stack_latency:\n    filters: { network_namespace: /var/run/netns/nosuch }\n' >"$TMP/nons.yaml"
	printf 'probes:\n  stack_latency:\n    filters: { cgroups: [/no/such/group] }\n' >"$TMP/nocg.yaml"
	printf 'agent: { interval: 1s }\n' >>"$TMP/noif.yaml"
	cp "$TMP/noif.yaml" "$TMP/noif-others.yaml"
	only_probes "$TMP/noif-others.yaml" stack_latency softirq
	for f in noif nons nocg; do only_probes "$TMP/$f.yaml" stack_latency; done
	expect 1 "no interface named 'nosuch0'" "$HOSTLAT" --config "$TMP/noif.yaml"
	expect 1 "network_namespace: cannot open '/var/run/netns/nosuch'" "$HOSTLAT" --config "$TMP/nons.yaml"
	expect 1 "cgroup '/no/such/group' not found" "$HOSTLAT" --config "$TMP/nocg.yaml"
	start_agent "$TMP/noif-others.yaml"
	grep -q "probe stack_latency is off: .*no interface named 'nosuch0'" "$TMP/agent.err" ||
		fail "the failing probe was not reported"
	# Loopback connections (refused) raise NET_RX softirqs for the probe that does run.
	wait_for 20 bash -c "(exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null; grep -q hostlat.softirq '$TMP/agent.out'" ||
		fail "the other probe did not run"
	stop_agent
	ok "a probe that cannot start is reported; the others run"
fi
