#!/usr/bin/env bash
# Secrets never leave through the agent's own output. Two otlp_http
# exporters carry secrets every way the config allows: a literal header, an
# @file: header, an @env: header, OTEL_EXPORTER_OTLP_HEADERS, and a password
# in the endpoint URL. The receiver answers 400 with a message that quotes
# every one it got back (the agent logs a receiver's message), the token
# after "Bearer" alone and the Basic credentials too. With
# --log-level debug, neither `--check` nor the running agent (start, failed
# exports, stop) prints any of them, while the receiver did get each one
# (so the test would see a leak). Config errors about header values
# (control characters, a missing variable or file, a malformed variable)
# name the header and the source, never the value.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
need_otlp_receiver
isolate_env

r() { echo "$1-$RANDOM$RANDOM-$HL_ID"; }
S_LITERAL=$(r literal) S_FILE=$(r file) S_ENV=$(r env) S_OTEL=$(r otel) S_PASS=$(r pass)
S_BASIC=$(printf 'user:%s' "$S_PASS" | base64 -w 0)
SECRETS=("$S_LITERAL" "$S_FILE" "$S_ENV" "$S_OTEL" "$S_PASS" "$S_BASIC")
printf 'Bearer %s\n' "$S_FILE" >"$TMP/token"
chmod 600 "$TMP/token"
export HL_TEST_SECRET="$S_ENV"
export OTEL_EXPORTER_OTLP_HEADERS="x-otel-token=$S_OTEL"

leaks() {
	local f s
	for f in "$@"; do
		for s in "${SECRETS[@]}"; do
			if grep -qF -- "$s" "$f"; then
				echo "$f: $(grep -F -- "$s" "$f" | head -n 1)"
				return 0
			fi
		done
	done
	return 1
}

# One receiver per exporter, each quoting back what it got from that one.
receiver() { # receiver NAME MESSAGE: sets PORT_NAME
	start_otlp_receiver "$TMP/rcv-$1.out" --log "$TMP/rcv.jsonl" --mode status --code 400 \
		--message "$2"
	printf -v "PORT_$1" '%s' "$RCV_PORT"
}
receiver A "bad headers: x-literal=$S_LITERAL authorization='Bearer $S_FILE' token $S_FILE x-env=$S_ENV"
receiver B "bad headers: x-otel-token=$S_OTEL authorization='Basic $S_BASIC' user:$S_PASS"

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: debug }
exporters:
  - type: otlp_http
    name: config-headers
    endpoint: http://127.0.0.1:$PORT_A
    headers:
      x-literal: "$S_LITERAL"
      authorization: "@file:$TMP/token"
      x-env: "@env:HL_TEST_SECRET"
  - type: otlp_http
    name: env-headers
    endpoint: http://user:$S_PASS@127.0.0.1:$PORT_B
YAML
only_probes "$TMP/hostlat.yaml" softirq

"$HOSTLAT" --check --log-level debug --config "$TMP/hostlat.yaml" >"$TMP/check.out" 2>&1 ||
	fail "--check: $(cat "$TMP/check.out")"
! leaks "$TMP/check.out" || fail "--check prints a secret"
start_agent "$TMP/hostlat.yaml" --log-level debug
wait_for 15 eval '[ "$(grep -c "HTTP 400" "$TMP/agent.err")" -ge 2 ]' ||
	fail "no refused export logged: $(tail -n 5 "$TMP/agent.err")"
stop_agent
grep "HTTP 400" "$TMP/agent.err" | head -n 2
! leaks "$TMP/agent.err" "$TMP/agent.out" || fail "the agent printed a secret"
grep -q '\*\*\*' "$TMP/agent.err" || fail "the receiver's message was not redacted: nothing to see"

# The receiver got every secret: they were in use, not missing.
"$PY" - "$TMP/rcv.jsonl" "$S_LITERAL" "$S_FILE" "$S_ENV" "$S_OTEL" "$S_PASS" <<'PY' || fail "a secret did not reach the receiver"
import base64, json, sys
log, lit, fil, env, otel, pw = sys.argv[1:]
hs = [json.loads(l)["headers"] for l in open(log) if l.strip()]
def seen(name, value):
    return any(h.get(name) == value for h in hs)
for name, value in (("x-literal", lit), ("authorization", "Bearer " + fil), ("x-env", env),
                    ("x-otel-token", otel)):
    if not seen(name, value):
        sys.exit("header %s never arrived" % name)
basic = "Basic " + base64.b64encode(("user:" + pw).encode()).decode()
if not any(h.get("authorization") == basic for h in hs):
    sys.exit("the URL's credentials never arrived")
print("the receiver got every header secret (%d requests)" % len(hs))
PY
ok "no secret in --check or the agent's output at debug level; the receiver's echo was redacted"

# Config errors about secret values name the header, never the value.
bad() {
	local what=$1 rc=0
	only_probes "$TMP/bad.yaml" softirq
	# Bounded: an agent that runs after all fails here instead of hanging
	# (timeout: 124, or 137 when SIGTERM did not stop it).
	timeout -k 5 20 "$HOSTLAT" --config "$TMP/bad.yaml" --log-level debug >"$TMP/bad.out" 2>&1 || rc=$?
	case $rc in 0 | 124 | 137) fail "$what: the agent ran (exit $rc)" ;; esac
	! leaks "$TMP/bad.out" || fail "$what: the error shows the secret"
	echo "$what (exit $rc): $(grep -m 1 error "$TMP/bad.out")"
}
cat >"$TMP/bad.yaml" <<YAML
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:1
    headers: { authorization: "$S_LITERAL\t\u0001" }
YAML
bad "a control character"
cat >"$TMP/bad.yaml" <<YAML
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:1
    headers: { authorization: "@env:HL_NO_SUCH_VARIABLE_$HL_ID" }
YAML
bad "a missing variable"
printf '%s\n\x01\n' "$S_FILE" >"$TMP/token-bad"
cat >"$TMP/bad.yaml" <<YAML
exporters:
  - type: otlp_http
    endpoint: http://127.0.0.1:1
    headers: { authorization: "@file:$TMP/token-bad" }
YAML
bad "a file with a line break"
# (the plugin that cannot load stops the agent after the otlp_http exporter read the variable)
cat >"$TMP/bad.yaml" <<YAML
exporters:
  - { type: otlp_http, endpoint: "http://127.0.0.1:1" }
  - { type: plugin, path: $TMP/no-such-plugin.so }
YAML
OTEL_EXPORTER_OTLP_HEADERS="x-a=$S_OTEL,broken" bad "a malformed OTEL_EXPORTER_OTLP_HEADERS"
grep -q "OTEL_EXPORTER_OTLP_HEADERS ignored: entry 2 has no '='" "$TMP/bad.out" ||
	fail "no warning about the malformed variable: $(cat "$TMP/bad.out")"
ok "config errors name headers and sources, not values"
