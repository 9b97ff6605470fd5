#!/usr/bin/env bash
# The agent (the plain build, not ASan) under valgrind memcheck with real
# traffic for a few intervals and a clean SIGTERM: no memory errors, no
# definite or indirect leaks.
source "$(dirname "$0")/../lib.sh"
need_root
command -v valgrind >/dev/null || skip "valgrind not installed"
netns_pair vsnd vrcv

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  stack_latency: { filters: { network_namespace: /var/run/netns/$NS_B } }
  traffic: { store: { dir: $TMP/traffic } }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
  - { type: stdout, format: pretty, output: $TMP/pretty.txt }
YAML
valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--suppressions=tests/valgrind.supp \
	"$BUILD/hostlat" --config "$TMP/hostlat.yaml" >"$TMP/agent.out" 2>"$TMP/agent.err" &
AGENT_PID=$!
on_exit "kill -9 $AGENT_PID"
# Under valgrind, loading every probe takes a minute on an idle machine and
# several on a loaded one (the start is bounded by the test timeout, 600 s).
wait_for 420 grep -q "running" "$TMP/agent.err" || { cat "$TMP/agent.err"; fail "agent did not start under valgrind"; }

tcp_reads 50 1
sleep 3
rc=0
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || rc=$?
grep -v -e '^hostlat: \(info\|warn\)' -e 'unhandled eBPF command' "$TMP/agent.err" || true
[ $rc -eq 0 ] || fail "agent under valgrind exited $rc (99: memory errors or leaks)"
grep -q '"stage"' "$TMP/metrics.jsonl" || fail "no metrics exported under valgrind"
grep -q 'tcp-socket-read' "$TMP/pretty.txt" || fail "no tcp-socket-read histogram under valgrind"
ok "valgrind: no errors, no leaks"
