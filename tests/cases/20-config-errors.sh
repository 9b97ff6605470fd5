#!/usr/bin/env bash
# The config through the real binary (no root, no probes loaded): the default
# config is valid and is what --print-default-config prints; each bad config
# exits 2 with one "FILE:LINE:COLUMN: message (key '...')" line on stderr.
source "$(dirname "$0")/../lib.sh"
[ -x "$HOSTLAT" ] || fail "$HOSTLAT not built"

"$HOSTLAT" --print-default-config >"$TMP/default.yaml" || fail "--print-default-config failed"
cmp -s "$TMP/default.yaml" config/hostlat.yaml || fail "--print-default-config differs from config/hostlat.yaml"
check_runs "$TMP/check.out" "$HOSTLAT" --config config/hostlat.yaml --check
: >"$TMP/empty.yaml"
check_runs "$TMP/check.out" "$HOSTLAT" --config "$TMP/empty.yaml" --check
ok "default config"

"$HOSTLAT" --config-reference >"$TMP/ref1.md" || fail "--config-reference failed"
"$HOSTLAT" --config-reference >"$TMP/ref2.md"
cmp -s "$TMP/ref1.md" "$TMP/ref2.md" || fail "--config-reference is not deterministic"
head -n 1 "$TMP/ref1.md" | grep -qF '| key | type | default | description |' || fail "reference header"
grep -qF '| `probes.stack_latency.filters.network_namespace` |' "$TMP/ref1.md" || fail "reference lacks a key"
ok "reference"

n=0
# bad TEXT EXPECTED: the config TEXT must fail with exit 2 and stderr
# containing "FILE:EXPECTED" (EXPECTED starts with LINE:COLUMN:).
bad() {
	local f=$TMP/bad$n.yaml rc=0
	n=$((n + 1))
	printf '%b' "$1" >"$f"
	"$HOSTLAT" --config "$f" --check >"$f.out" 2>"$f.err" || rc=$?
	[ $rc -eq 2 ] || { cat "$f.err" >&2; fail "config $n: exit $rc, want 2"; }
	grep -qF -- "$f:$2" "$f.err" || { cat "$f.err" >&2; fail "config $n: no '$f:$2'"; }
	[ "$(wc -l <"$f.err")" -eq 1 ] || { cat "$f.err" >&2; fail "config $n: more than one line"; }
}

bad 'agent:\n  intervall: 5s\n' "2:3: unknown key 'intervall'; valid keys: interval, log_level, shutdown_timeout, health (key 'agent.intervall')"
bad 'agent:\n  interval: 5ms\n' "2:13: duration '5ms' is out of range 100ms..1h (key 'agent.interval')"
bad 'agent: {interval: 10}\n' "1:19: invalid duration '10'"
bad 'agent: { shutdown_timeout: 500ms }\n' "1:28: duration '500ms' is out of range 1s..10m (key 'agent.shutdown_timeout')"
bad 'probes:\n  stack_latency:\n    histogram_scale: yes\n' "3:22: expected an unsigned integer, got 'yes'"
bad 'probes:\n  stack_latency:\n    stages: [ip-start, tcp-end]\n' "3:24: unknown name 'tcp-end'"
bad 'probes:\n  stack_latency:\n    filters: {network_namespace: blue}\n' "3:34: invalid network namespace 'blue'"
bad 'exporters:\n  - type: kafka\n' "2:11: unknown exporter type 'kafka'; known types: stdout"
bad 'agent:\n  log_level: info\n  log_level: debug\n' "3:3: duplicate key 'log_level'"
bad 'agent: [1, 2\n' "2:1: YAML syntax error:"
ok "$n bad configs rejected with their positions"

# What a built-in exporter refuses at start, --check refuses at the key (the
# run and --check agree), and a network namespace path that is another file.
n0=$n
bad 'exporters:\n  - {type: otlp_http, endpoint: "ftp://x"}\n' "2:33: invalid endpoint: expected an http:// or https:// URL (key 'exporters[0].endpoint')"
bad 'exporters:\n  - type: otlp_http\n    endpoint: "http://x/\\r\\nHost: y"\n' "3:15: invalid endpoint: the URL holds a control character"
bad 'exporters:\n  - type: otlp_http\n    headers:\n      x-a: "token\\r\\nX-Injected: 1"\n' "4:12: header 'x-a': the value holds control characters"
bad 'exporters:\n  - type: otlp_http\n    headers: {"X A:": v}\n' "3:15: header 'X A:': not a valid header name"
bad 'exporters:\n  - {type: statsd, address: "[::1"}\n' "2:29: address '[::1': expected [IPv6 address]:port (key 'exporters[0].address')"
bad 'exporters:\n  - type: stdout\n  - {type: statsd, address: "127.0.0.1:0"}\n' "3:29: address '127.0.0.1:0': port must be 1..65535 (key 'exporters[1].address')"
bad 'exporters:\n  - {type: statsd, address: "127.0.0.1:70000"}\n' "2:29: address '127.0.0.1:70000': port must be 1..65535"
# --check resolves a statsd name (the start would fail on it too)
bad 'exporters:\n  - type: statsd\n    address: no-such-host.invalid:8125\n' "3:14: cannot resolve 'no-such-host.invalid': "
bad 'probes:\n  napi: {network_namespace: /etc/passwd}\n' "2:29: '/etc/passwd' is not a network namespace but a regular file"
bad 'probes:\n  stack_latency:\n    filters: {network_namespace: /proc/self/ns/mnt}\n' "3:34: '/proc/self/ns/mnt' is a mount namespace, not a network namespace (key 'probes.stack_latency.filters.network_namespace')"
ok "$((n - n0)) exporter values and namespace files refused by --check at their keys"

# The same values stop the run at the same place (not at the exporter item).
printf 'exporters:\n  - {type: otlp_http, endpoint: "ftp://x"}\n' >"$TMP/run.yaml"
rc=0
timeout 20 "$HOSTLAT" --config "$TMP/run.yaml" >/dev/null 2>"$TMP/run.err" || rc=$?
[ $rc -eq 2 ] && grep -qF "$TMP/run.yaml:2:33: invalid endpoint" "$TMP/run.err" ||
	{ cat "$TMP/run.err" >&2; fail "the run: exit $rc, not the key's position"; }
ok "the run refuses the value at its key"

rc=0
"$HOSTLAT" --config "$TMP/missing.yaml" 2>"$TMP/missing.err" || rc=$?
[ $rc -eq 2 ] || fail "missing config: exit $rc, want 2"
grep -qF "$TMP/missing.yaml: cannot read: No such file or directory" "$TMP/missing.err" ||
	{ cat "$TMP/missing.err" >&2; fail "missing config message"; }
ok "missing config"
