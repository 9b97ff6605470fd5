#!/usr/bin/env bash
# Exporter modules (`type: plugin`) through the real agent (ASan build).
# Modules the loader must refuse (wrong ABI, no symbol, no file) and a
# module whose init fails stop the agent at startup with exit 2 and one clear
# message. Then the example module build/plugins/hostlat_csv.so, loaded
# twice (two items, two files), writes CSV rows of real traffic between two
# network namespaces: stack latency histograms and probe hook gauges.
source "$(dirname "$0")/../lib.sh"
need_root
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF"

CSV_SO=$BUILD/plugins/hostlat_csv.so
BAD_SO=$BUILD/tests/bad_abi.so
NOSYM_SO=$BUILD/tests/no_symbol.so
[ -r "$CSV_SO" ] || fail "$CSV_SO is not built (make all)"
[ -r "$BAD_SO" ] && [ -r "$NOSYM_SO" ] || fail "the test modules are not built (make unit)"
HEADER=time_unix_ns,metric,attributes,kind,count,sum_seconds,p50,p90,p99,max,value

n=0
# startup_error YAML-ITEM TEXT...: an agent whose only exporter is the item
# must exit 2, its stderr containing every TEXT.
startup_error() {
	local f=$TMP/start$n.yaml item=$1 rc=0
	shift
	n=$((n + 1))
	printf 'agent: { interval: 1s }\nexporters:\n  - %s\n' "$item" >"$f"
	"$HOSTLAT" --config "$f" >"$f.out" 2>"$f.err" || rc=$?
	[ $rc -eq 2 ] || { cat "$f.err" >&2; fail "'$item': exit $rc, want 2"; }
	for want in "$@"; do
		grep -qF -- "$want" "$f.err" || { cat "$f.err" >&2; fail "'$item': no '$want'"; }
	done
	! grep -q "Sanitizer" "$f.err" || { cat "$f.err" >&2; fail "'$item': sanitizer report"; }
}

startup_error "{ type: plugin, path: $BAD_SO }" \
	"plugin '$BAD_SO' was built for exporter ABI 7; this hostlat speaks ABI 2"
startup_error "{ type: plugin, path: $TMP/nonexistent.so }" \
	"cannot load plugin '$TMP/nonexistent.so': " "No such file or directory"
startup_error "{ type: plugin, path: $NOSYM_SO }" \
	"plugin '$NOSYM_SO' has no symbol hostlat_exporter_module"
startup_error "{ type: plugin, path: $CSV_SO }" \
	"config key 'file' is required: the CSV file to append to"
startup_error "{ type: plugin, path: $CSV_SO, config: { file: $TMP/no/such/dir/x.csv } }" \
	"cannot open '$TMP/no/such/dir/x.csv' for appending: No such file or directory"
# A config error proper: the position and the key.
startup_error "{ type: plugin, config: { file: x.csv } }" \
	":3:5: a plugin exporter needs a 'path': the shared object of its module (key 'exporters[0].path')"
ok "$n bad plugin configs stop the agent with exit 2"

netns_pair snd rcv
D_MS=6

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s, log_level: info }
probes:
  stack_latency:
    filters: { network_namespace: /var/run/netns/$NS_B }
exporters:
  - type: plugin
    path: $CSV_SO
    config:
      file: $TMP/metrics.csv
  - type: plugin
    path: $CSV_SO
    name: second
    queue_size: 4
    retry: { initial: 100ms, max: 1s, max_elapsed: 10s }
    config: { file: $TMP/second.csv, header: false }
YAML
only_probes "$TMP/hostlat.yaml" stack_latency

start_agent "$TMP/hostlat.yaml"
tcp_reads 20 "$D_MS"
sleep 2
stop_agent
! grep -q "Sanitizer" "$TMP/agent.err" || { cat "$TMP/agent.err" >&2; fail "sanitizer report"; }
echo "--- metrics.csv (head)"
head -n 20 "$TMP/metrics.csv"

[ "$(head -n 1 "$TMP/metrics.csv")" = "$HEADER" ] || fail "metrics.csv does not start with the header"
[ "$(grep -c "^time_unix_ns," "$TMP/metrics.csv")" -eq 1 ] || fail "more than one header line"
[ -s "$TMP/second.csv" ] || fail "the second instance wrote nothing"
! grep -q "^time_unix_ns," "$TMP/second.csv" || fail "header written despite header: false"

"$PY" - "$TMP/metrics.csv" "$TMP/second.csv" "$D_MS" <<'PY'
import csv, sys

path, second, d_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = list(csv.reader(open(path)))
header, rows = rows[0], rows[1:]
want = "time_unix_ns,metric,attributes,kind,count,sum_seconds,p50,p90,p99,max,value".split(",")
if header != want:
    sys.exit("header %s" % header)
for r in rows:
    if len(r) != 11:
        sys.exit("row with %d fields: %s" % (len(r), r))
times = [int(r[0]) for r in rows]
if times != sorted(times):
    sys.exit("time_unix_ns goes backwards")
if len(set(times)) < 2:
    sys.exit("rows from %d batch(es) only, want several (interval 1s)" % len(set(times)))

def attrs(s):
    return dict(kv.split("=", 1) for kv in s.split(";")) if s else {}

lat = [r for r in rows if r[1] == "hostlat.stack.latency"]
hooks = [r for r in rows if r[1] == "hostlat.probe.hook"]
if not lat:
    sys.exit("no hostlat.stack.latency rows")
if not hooks:
    sys.exit("no hostlat.probe.hook rows")
for r in lat:
    if r[3] != "histogram" or int(r[4]) <= 0 or r[10] != "":
        sys.exit("bad histogram row %s" % r)
    s, p50, p90, p99, mx = (float(x) for x in r[5:10])
    if not (0 <= p50 <= p90 <= p99 <= mx) or s < 0:
        sys.exit("percentiles out of order: %s" % r)
for r in hooks:
    a = attrs(r[2])
    if r[3] != "gauge" or "stage" not in a or "hook" not in a or r[10] not in ("0", "1"):
        sys.exit("bad hook row %s" % r)
read = [r for r in lat if attrs(r[2]).get("stage") == "tcp-socket-read"]
n = sum(int(r[4]) for r in read)
print("tcp-socket-read: %d samples in %d rows" % (n, len(read)))
if n < 15:
    sys.exit("tcp-socket-read: %d samples for 20 delayed reads" % n)
# p50 is a bucket's upper bound: at least the delay the server added.
big = max(read, key=lambda r: int(r[4]))
if not (d_ms / 1000 <= float(big[6]) < 1.0):
    sys.exit("tcp-socket-read p50 %s for a %g ms delay" % (big[6], d_ms))
second_rows = list(csv.reader(open(second)))
if not any(r[1] == "hostlat.stack.latency" for r in second_rows):
    sys.exit("second.csv has no latency rows")
print("%d rows, %d batches; %d latency, %d hook rows" % (len(rows), len(set(times)), len(lat), len(hooks)))
PY
ok "the csv module writes stack latency and probe hook rows"
