#!/usr/bin/env bash
# Traffic sampling, stored runs: two granularities run one after the other and
# never overlap; one gzip-compressed CSV file per run lands in store.dir, where
# max_age and max_bytes are enforced (files not named like runs are left
# alone); `hostlat traffic list` lists them and `hostlat traffic show` renders
# one as a chart with its bursts marked, or as CSV; it skips a cut-off newest
# run with a warning and refuses FIFOs instead of waiting on them.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs

netns_pair snd rcv
quiet_link
start_sink "$NS_B" 6000
STORE=$TMP/store
MAX_BYTES=6000
mkdir -p "$STORE"
# An old run (beyond max_age) and a file that is not a run, both 2 hours old.
echo old >"$STORE/hostlat-traffic-20000101T000000.000Z-x-1ms.csv.gz"
echo keep >"$STORE/notes.txt"
touch -d '2 hours ago' "$STORE/hostlat-traffic-20000101T000000.000Z-x-1ms.csv.gz" "$STORE/notes.txt"

cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms, 100us]
    samples: 300
    every: 1s
    burst_threshold: 1
    store: { dir: $STORE, max_bytes: $MAX_BYTES, max_age: 1h }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
only_traffic "$TMP/hostlat.yaml"
start_agent_in "$NS_B" "$TMP/hostlat.yaml"
# Bursts of 40 x 1400 bytes every ~50 ms: above 1 % of 10 Gbit/s in a 1 ms sample.
ip netns exec "$NS_A" "$PY" tests/tools/traffic_gen.py bursts 198.18.0.2 6000 80 40 1400 50.3 "$TMP/bursts.log" ||
	fail "sender failed"
stop_agent

[ ! -e "$STORE/hostlat-traffic-20000101T000000.000Z-x-1ms.csv.gz" ] || fail "a run older than max_age was kept"
[ -e "$STORE/notes.txt" ] || fail "a file that is not a run was deleted"
ls -l "$STORE"
total=$(find "$STORE" -name 'hostlat-traffic-*.csv.gz' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
n=$(find "$STORE" -name 'hostlat-traffic-*.csv.gz' | wc -l)
echo "$n runs stored, $total bytes (max_bytes $MAX_BYTES)"
[ "$total" -le $MAX_BYTES ] || fail "stored runs take $total bytes, more than max_bytes"
[ "$n" -ge 3 ] || fail "only $n runs kept"
grep -q "stored\|cannot store" "$TMP/agent.err" && grep "cannot store" "$TMP/agent.err" && fail "storing failed"

"$PY" - "$STORE" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from traffic_check import runs
rs = runs(sys.argv[1])
grans = [r["gran_ns"] for r in rs]
print("granularities in order:", grans)
for a, b in zip(rs, rs[1:]):
    assert a["start"] + a["n"] * a["gran_ns"] <= b["start"], "runs overlap: %s %s" % (a["path"], b["path"])
    assert a["gran_ns"] != b["gran_ns"], "runs do not alternate: %s %s" % (a["path"], b["path"])
PY

"$HOSTLAT" traffic list --dir "$STORE" >"$TMP/list.txt" || fail "traffic list failed"
[ "$(wc -l <"$TMP/list.txt")" -eq "$n" ] || fail "traffic list: $(wc -l <"$TMP/list.txt") lines for $n runs"
grep -q notes.txt "$TMP/list.txt" && fail "traffic list lists a file that is not a run"
newest=$(tail -n 1 "$TMP/list.txt")
"$HOSTLAT" traffic show --dir "$STORE" --width 80 >"$TMP/show.txt" || fail "traffic show failed"
cat "$TMP/show.txt"
cmp -s "$TMP/show.txt" <("$HOSTLAT" traffic show --width 80 "$newest") || fail "show without FILE is not the newest run"
grep -q "^$VETH_B: 300 samples of " "$TMP/show.txt" || fail "chart title"
grep -q "^receive: " "$TMP/show.txt" && grep -q "^transmit: " "$TMP/show.txt" || fail "chart directions"
# A 1 ms run with bursts: marked under the time axis.
found=0
for f in $(grep -- '-1ms\.csv\.gz$' "$TMP/list.txt"); do
	"$HOSTLAT" traffic show -w 100 "$f" >"$TMP/one.txt" || fail "show $f"
	if grep -q '^  bursts  .*\^' "$TMP/one.txt"; then
		found=1
		cat "$TMP/one.txt"
		break
	fi
done
[ $found = 1 ] || fail "no stored 1 ms run shows its bursts"
"$HOSTLAT" traffic show --csv "$newest" >"$TMP/show.csv" || fail "show --csv"
[ "$(wc -l <"$TMP/show.csv")" -eq 301 ] || fail "CSV: $(wc -l <"$TMP/show.csv") lines"
head -n 1 "$TMP/show.csv" | grep -q '^sample,time_ns,rx_bytes,' || fail "CSV header"
# Errors: no such file, not a run.
"$HOSTLAT" traffic show "$TMP/nope.csv.gz" 2>"$TMP/e1" && fail "show of a missing file succeeded"
"$HOSTLAT" traffic show "$STORE/notes.txt" 2>"$TMP/e2" && fail "show of a non-run succeeded"
grep -q "not a hostlat traffic run" "$TMP/e2" || fail "message: $(cat "$TMP/e2")"
# A cut-off run file is an error, not a shorter chart.
head -c $(($(stat -c %s "$newest") / 2)) "$newest" >"$TMP/cut.csv.gz"
"$HOSTLAT" traffic show "$TMP/cut.csv.gz" 2>"$TMP/e3" >/dev/null && fail "show of a truncated run succeeded"
cat "$TMP/e3"
grep -q "cut.csv.gz: truncated or corrupt after [0-9]* samples: " "$TMP/e3" || fail "message: $(cat "$TMP/e3")"
# The newest run cut off (a full disk, a crash): show without FILE skips it,
# with a warning, and shows the newest readable one.
cut_newest=$STORE/hostlat-traffic-29991231T235959.999Z-$VETH_B-1ms.csv.gz
head -c $(($(stat -c %s "$newest") / 2)) "$newest" >"$cut_newest"
"$HOSTLAT" traffic show --dir "$STORE" --width 80 >"$TMP/show2.txt" 2>"$TMP/e4" ||
	fail "show with a cut-off newest run failed: $(cat "$TMP/e4")"
cat "$TMP/e4"
grep -q "^hostlat: warning: skipping an unreadable run: $cut_newest: truncated or corrupt" "$TMP/e4" ||
	fail "no warning about the cut-off newest run: $(cat "$TMP/e4")"
cmp -s "$TMP/show.txt" "$TMP/show2.txt" || fail "show did not fall back to the newest readable run"
rm -f "$cut_newest"
# A FIFO, as FILE or as --config, is refused, not waited on.
mkfifo "$TMP/fifo.csv.gz" "$TMP/fifo.yaml"
rc=0
timeout 20 "$HOSTLAT" traffic show "$TMP/fifo.csv.gz" 2>"$TMP/e5" || rc=$?
[ $rc -eq 1 ] && grep -q "fifo.csv.gz: not a regular file" "$TMP/e5" || fail "show of a FIFO: exit $rc, $(cat "$TMP/e5")"
rc=0
timeout 20 "$HOSTLAT" traffic list --config "$TMP/fifo.yaml" 2>"$TMP/e6" || rc=$?
[ $rc -eq 2 ] && grep -q "fifo.yaml: not a regular file" "$TMP/e6" || fail "--config FIFO: exit $rc, $(cat "$TMP/e6")"
rc=0
"$HOSTLAT" traffic frobnicate 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "unknown traffic command: exit status $rc, not 2"
ok "runs stored, retention enforced, traffic show renders them"
