#!/usr/bin/env bash
# SIGHUP reloads the config file. A valid change of what can change while
# running is applied: a longer interval, another exporter (stdout JSON to a
# new file; the old one stops), a new resource attribute, and the probes
# keep running (same cumulative start time, counts go on). Then configs that
# must be rejected, each with one clear message, the running config kept
# (batches keep coming at the reloaded interval to the reloaded exporter):
# a YAML error (FILE:LINE:COLUMN), a probe change (needs a restart), an
# exporter that cannot start. The agent then stops cleanly (exit 0, ASan).
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

cfg=$TMP/hostlat.yaml
write_cfg() { # interval output [extra top-level YAML]
	cat >"$cfg" <<YAML
agent: { interval: $1, log_level: info }
${3:-}
probes:
  softirq: { vectors: [net_rx, net_tx, timer, sched] }
exporters:
  - { type: stdout, format: json, output: $2 }
YAML
	only_probes "$cfg" softirq
}
errs() { grep -c "$1" "$TMP/agent.err" || true; }

write_cfg 1s "$TMP/a.jsonl"
start_agent "$cfg"
wait_for 10 lines_at_least 2 "$TMP/a.jsonl" || fail "no batches before the reload"

# 1. A valid change.
write_cfg 2s "$TMP/b.jsonl" "resource: { attributes: { test.reload: two } }"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config .* reloaded: exporting every 2s to 1 exporter(s) (restarted); new resource attributes" \
	"$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "the valid config was not reloaded"; }
a_after=$(count_lines "$TMP/a.jsonl")
wait_for 10 lines_at_least 3 "$TMP/b.jsonl" || fail "the new exporter got no batches"
[ "$(count_lines "$TMP/a.jsonl")" -eq "$a_after" ] || fail "the old exporter still gets batches"

# 2. Rejected configs; each leaves the running one in place.
printf 'agent: { interval: 1s }\nexporters:\n  - { type: stdout, output: %s\n' "$TMP/c.jsonl" >"$cfg"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config rejected, the running one is kept: $cfg:[0-9]*:[0-9]*: " "$TMP/agent.err" ||
	{ cat "$TMP/agent.err" >&2; fail "a YAML error was not rejected with its position"; }

write_cfg 2s "$TMP/b.jsonl" "resource: { attributes: { test.reload: two } }"
sed -i 's/vectors: \[net_rx, net_tx, timer, sched\]/vectors: [net_rx]/' "$cfg"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config $cfg rejected, the running one is kept: 'probes.softirq.vectors' changed; only agent.interval" \
	"$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "a probe change was not rejected"; }

write_cfg 2s "$TMP/b.jsonl" "resource: { attributes: { test.reload: two } }"
printf '  - { type: plugin, path: %s/no-such-module.so }\n' "$TMP" >>"$cfg"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "SIGHUP: config $cfg rejected, the running one is kept: an exporter cannot start" \
	"$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "an exporter that cannot start was not rejected"; }

b_before=$(count_lines "$TMP/b.jsonl")
sleep 4.5
[ "$(count_lines "$TMP/b.jsonl")" -ge $((b_before + 2)) ] || fail "batches stopped after the rejected reloads"
[ ! -e "$TMP/c.jsonl" ] || fail "a rejected config's exporter was started"
stop_agent
grep "SIGHUP" "$TMP/agent.err"

"$PY" - "$TMP/a.jsonl" "$TMP/b.jsonl" <<'PY'
import json, sys

def load(p):
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]

def info(line):
    rm = line["resourceMetrics"][0]
    res = {a["key"]: list(a["value"].values())[0] for a in rm["resource"].get("attributes", [])}
    pts = {}
    for sm in rm["scopeMetrics"]:
        for m in sm["metrics"]:
            if m["name"] == "hostlat.softirq.duration":
                for dp in m["exponentialHistogram"]["dataPoints"]:
                    vec = [a["value"]["stringValue"] for a in dp["attributes"]][0]
                    pts[vec] = (int(dp["startTimeUnixNano"]), int(dp["timeUnixNano"]), int(dp["count"]))
    return res, pts

a, b = load(sys.argv[1]), load(sys.argv[2])
ra, pa = info(a[-1])
rb, pb = info(b[0])
if "test.reload" in ra or rb.get("test.reload") != "two":
    sys.exit("resource attributes: before %s, after %s" % (ra, rb))
for vec in ("timer", "sched"):
    if vec not in pa or vec not in pb:
        sys.exit("softirq %s missing: %s %s" % (vec, pa, pb))
    if pa[vec][0] != pb[vec][0]:
        sys.exit("%s: the cumulative start time changed: the probe was restarted" % vec)
    if pb[vec][2] < pa[vec][2]:
        sys.exit("%s: the count went down across the reload" % vec)
times = [info(l)[1]["timer"][1] for l in b[:-1]]
steps = [round((y - x) / 1e9, 2) for x, y in zip(times, times[1:])]
print("after the reload: %d batches, %s s apart" % (len(b), steps))
if not steps or min(steps) < 1.8 or max(steps) > 2.3:
    sys.exit("the 2 s interval was not applied")
PY
ok "SIGHUP: valid config applied (interval, exporters, resource; probes kept); bad ones rejected, old config kept"
