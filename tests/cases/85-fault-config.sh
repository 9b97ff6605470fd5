#!/usr/bin/env bash
# Hostile config files. A FIFO at the config path, a deeply nested YAML file,
# a FIFO as a header secret or as the stdout output: each is refused at once
# with one message (by --check, by the run, and on SIGHUP while the agent keeps
# running and collecting), never waited on. Nothing here waits for a fixed
# time: every wait is for a state, with a bound that fails the test.
source "$(dirname "$0")/../lib.sh"

now() { date +%s.%N; }
# took START LIMIT: fail unless less than LIMIT seconds passed since START.
took() { "$PY" -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); print('%.2f s' % d); sys.exit(d >= float(sys.argv[3]))" "$1" "$(now)" "$2"; }
# refused OUT_PREFIX WANT CMD...: CMD exits 2 (not killed by the timeout) with WANT in stderr.
refused() {
	local out=$1 want=$2 rc=0 t0
	shift 2
	t0=$(now)
	timeout 20 "$@" >"$out.out" 2>"$out.err" || rc=$?
	[ $rc -eq 2 ] || { cat "$out.err" >&2; fail "'$*': exit $rc, want 2 (124: it hung)"; }
	grep -qF -- "$want" "$out.err" || { cat "$out.err" >&2; fail "'$*': no '$want'"; }
	[ "$(wc -l <"$out.err")" -eq 1 ] || { cat "$out.err" >&2; fail "'$*': more than one line"; }
	took "$t0" 3 >/dev/null || fail "'$*' took $(took "$t0" 0 || true)"
}

# 1. A FIFO as the config: --check and the run refuse it without reading.
mkfifo "$TMP/fifo.yaml"
refused "$TMP/c1" "$TMP/fifo.yaml: not a regular file (a FIFO)" "$HOSTLAT" --check --config "$TMP/fifo.yaml"
refused "$TMP/c2" "$TMP/fifo.yaml: not a regular file (a FIFO)" "$HOSTLAT" --config "$TMP/fifo.yaml"
refused "$TMP/c3" "/dev/zero: not a regular file (a character device)" "$HOSTLAT" --check --config /dev/zero
ok "a FIFO or a device as the config is refused at once"

# 2. 100k nested flow lists in 200 kB (libyaml alone: over 30 s): refused at
# once at the list past the limit (level 65: "agent:" is level 1).
"$PY" -c "import sys; n=100000; sys.stdout.write('agent: ' + '[' * n + ']' * n + '\n')" >"$TMP/deep.yaml"
t0=$(now)
refused "$TMP/c4" "$TMP/deep.yaml:1:71: mappings and lists nest deeper than 64 levels" \
	"$HOSTLAT" --check --config "$TMP/deep.yaml"
echo "100k levels refused in $(took "$t0" 3)"
# block style too: "- - - ..." on one line, then indented mappings
"$PY" -c "import sys; sys.stdout.write('- ' * 50000 + 'x\n')" >"$TMP/deep2.yaml"
refused "$TMP/c5" "$TMP/deep2.yaml:1:129: mappings and lists nest deeper than 64 levels" \
	"$HOSTLAT" --check --config "$TMP/deep2.yaml"
"$PY" -c "import sys; sys.stdout.write(''.join(' ' * i + 'k%d:\n' % i for i in range(1000)))" >"$TMP/deep3.yaml"
refused "$TMP/c6" "$TMP/deep3.yaml:65:65: mappings and lists nest deeper than 64 levels" \
	"$HOSTLAT" --check --config "$TMP/deep3.yaml"
ok "deep nesting refused at once with its position"

# 3. Files the exporters read at start: a FIFO is refused, by --check at the
# key and by the run at once (the run would wait for a writer or a reader).
mkfifo "$TMP/secret" "$TMP/out.fifo"
printf 'exporters:\n  - type: otlp_http\n    headers:\n      authorization: "@file:%s"\n' "$TMP/secret" >"$TMP/sec.yaml"
refused "$TMP/c7" "$TMP/sec.yaml:4:22: cannot read '$TMP/secret': not a regular file (a FIFO) (key 'exporters[0].headers.authorization')" \
	"$HOSTLAT" --check --config "$TMP/sec.yaml"
refused "$TMP/c8" "exporter otlp_http: header 'authorization': cannot read '$TMP/secret': not a regular file (a FIFO)" \
	"$HOSTLAT" --config "$TMP/sec.yaml"
printf 'exporters:\n  - {type: otlp_http, ca_file: %s}\n' "$TMP/secret" >"$TMP/ca.yaml"
refused "$TMP/c9" "$TMP/ca.yaml:2:32: cannot read '$TMP/secret': not a regular file (a FIFO) (key 'exporters[0].ca_file')" \
	"$HOSTLAT" --check --config "$TMP/ca.yaml"
printf 'exporters:\n  - {type: stdout, output: %s}\n' "$TMP/out.fifo" >"$TMP/out.yaml"
refused "$TMP/c10" "exporter stdout: cannot open '$TMP/out.fifo' for appending: a FIFO that nobody reads" \
	"$HOSTLAT" --config "$TMP/out.yaml"
ok "FIFOs as exporter files are refused at once"

# 4. The same on SIGHUP: the running config stays and collection goes on.
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"
cfg=$TMP/hostlat.yaml
write_cfg() { # interval output [exporter item lines]
	cat >"$cfg" <<YAML
agent: { interval: $1, log_level: info }
probes:
  softirq: { vectors: [net_rx, timer] }
exporters:
  - { type: stdout, format: json, output: $2 }
${3:-}
YAML
	only_probes "$cfg" softirq
}
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
at_least() { [ "$(lines "$1")" -ge "$2" ]; }
# hup_refused WHAT PATTERN: SIGHUP, the rejection is logged within 5 s, and
# two more batches arrive within 5 s.
hup_refused() {
	local before t0
	before=$(lines "$TMP/a.jsonl")
	t0=$(now)
	kill -HUP "$AGENT_PID"
	wait_for 5 grep -q -- "$2" "$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "$1: not rejected within 5 s"; }
	echo "$1: rejected in $(took "$t0" 5)"
	wait_for 5 at_least "$TMP/a.jsonl" $((before + 2)) || fail "$1: collection stopped"
	kill -0 "$AGENT_PID" || fail "$1: the agent died"
}

write_cfg 1s "$TMP/a.jsonl"
cp "$cfg" "$TMP/good.yaml"
start_agent "$cfg"
wait_for 10 at_least "$TMP/a.jsonl" 2 || fail "no batches before the reloads"

rm "$cfg"
mkfifo "$cfg"
hup_refused "FIFO config" "SIGHUP: config rejected, the running one is kept: $cfg: not a regular file (a FIFO)"
rm "$cfg"

"$PY" -c "import sys; n=50000; sys.stdout.write('agent: ' + '[' * n + ']' * n + '\n')" >"$cfg"
hup_refused "50k levels" "SIGHUP: config rejected, the running one is kept: $cfg:1:71: mappings and lists nest deeper than 64 levels"

write_cfg 1s "$TMP/a.jsonl" "  - type: otlp_http
    headers: { authorization: \"@file:$TMP/secret\" }"
hup_refused "FIFO secret" "SIGHUP: config $cfg rejected, the running one is kept: an exporter cannot start"
grep -q "exporter otlp_http: header 'authorization': cannot read '$TMP/secret': not a regular file (a FIFO)" "$TMP/agent.err" ||
	{ cat "$TMP/agent.err" >&2; fail "the FIFO secret was not named"; }

write_cfg 1s "$TMP/a.jsonl" "  - { type: stdout, name: second, output: $TMP/out.fifo }"
hup_refused "FIFO output" "exporter second: cannot open '$TMP/out.fifo' for appending: a FIFO that nobody reads"

# A valid config is still applied afterwards: the event loop is not stuck.
write_cfg 2s "$TMP/b.jsonl"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config $cfg reloaded: exporting every 2s" "$TMP/agent.err" ||
	{ cat "$TMP/agent.err" >&2; fail "a valid config was not reloaded after the refusals"; }
wait_for 10 at_least "$TMP/b.jsonl" 1 || fail "the reloaded exporter got no batch"
stop_agent
grep "SIGHUP" "$TMP/agent.err"
ok "SIGHUP: FIFO config, deep YAML, FIFO secret and output refused at once; collection went on"
