#!/usr/bin/env bash
# The traffic store under hostile conditions (the agent runs as root):
#  - a store.dir that users other than root can change (writable by
#    everyone), or that is not a directory (a file, a symbolic link to a
#    file, a dangling link), is refused at start with one message naming
#    the cause; the probe samples and exports all the same, keeps no
#    cap_dac_override for the store, and logs nothing per run;
#  - a full filesystem (a tiny tmpfs): ENOSPC is named once over several
#    runs and hostlat.traffic.store.errors{reason=no_space} counts every
#    failed write; once there is room again runs are stored (said once),
#    and the next failure is named again;
#  - symbolic links planted at the runs' temporary names: the file they
#    point to is never written, and the runs are stored as files of their
#    own.
source "$(dirname "$0")/../lib.sh"
source tests/tools/traffic_lib.sh
traffic_prereqs

netns_pair fs peer
config() { # STORE_DIR
	cat >"$TMP/hostlat.yaml" <<YAML
agent: { interval: 1s }
probes:
  traffic:
    interfaces: [$VETH_B]
    granularities: [1ms]
    samples: 50
    every: 1s
    store: { dir: $1 }
exporters:
  - { type: stdout, format: json, output: $TMP/metrics.jsonl }
YAML
	only_traffic "$TMP/hostlat.yaml"
}
# value NAME [KEY=VALUE]: a counter's value (a histogram's count, summed over
# its points) in the latest batch; 0 when there is none.
value() {
	[ -s "$TMP/metrics.jsonl" ] || { echo 0; return; }
	"$PY" - "$TMP/metrics.jsonl" "$@" <<'PY'
import sys
sys.path.insert(0, "tests/tools")
from otlp_check import last_request, points
want = dict(a.split("=", 1) for a in sys.argv[3:])
total = 0
for a, dp in points(last_request(sys.argv[1]), sys.argv[2]):
    if all(a.get(k) == v for k, v in want.items()):
        total += int(dp.get("count", dp.get("asInt", 0)))
print(total)
PY
}
at_least() { [ "$(value "${@:2}")" -ge "$1" ]; }
count() { grep -c -- "$1" "$TMP/agent.err" || true; }
start() { # STORE_DIR
	rm -f "$TMP/metrics.jsonl"
	config "$1"
	start_agent_in "$NS_B" "$TMP/hostlat.yaml"
}

# --- store.dir refused at start: one message, no run stored, sampling goes on ---
mkdir -m 0755 "$TMP/open"
chmod 0777 "$TMP/open"
touch "$TMP/file"
ln -s "$TMP/file" "$TMP/link-to-file"
ln -s "$TMP/nowhere" "$TMP/dangling"
refused() { # STORE_DIR MESSAGE
	start "$1"
	# three runs (50 samples each way) after start
	wait_for 30 at_least 300 hostlat.traffic.sample.bytes || fail "$1: no runs sampled"
	stop_agent
	[ "$(count "hostlat: error: traffic: store.dir $2; runs are not stored")" = 1 ] || {
		cat "$TMP/agent.err" >&2
		fail "$1: not refused with one message"
	}
	[ "$(count "store")" = 1 ] || { grep store "$TMP/agent.err" >&2; fail "$1: more than one message about the store"; }
	kept=$(grep "capabilities kept after start: " "$TMP/agent.err") || fail "$1: the capability drop is not logged"
	[[ $kept != *cap_dac_override* ]] || fail "$1: cap_dac_override kept for a refused store: $kept"
	grep "store.dir" "$TMP/agent.err"
}
refused "$TMP/open" "$TMP/open: users other than root can change it: directory $TMP/open is writable by everyone (mode 0777)"
[ -z "$(ls -A "$TMP/open")" ] || fail "runs stored in a world-writable store.dir"
refused "$TMP/file" "$TMP/file is a regular file, not a directory"
refused "$TMP/link-to-file" "$TMP/link-to-file is a symbolic link to a regular file, not to a directory"
[ ! -s "$TMP/file" ] || fail "the file behind the link was written"
refused "$TMP/dangling" "$TMP/dangling is a dangling symbolic link"
[ ! -e "$TMP/nowhere" ] || fail "the dangling link's target was created"
ok "unsafe or wrong-type store.dir refused at start with one message; sampling goes on"

# A missing store.dir is created, writable by root only, even with umask 0.
umask 000
start "$TMP/new/store"
umask 022
wait_runs_in() { wait_for 30 sh -c "ls '$1' 2>/dev/null | grep -q '^hostlat-traffic-'"; }
wait_runs_in "$TMP/new/store" || fail "no run stored in the created store.dir"
stop_agent
[ "$(stat -c '%U %a' "$TMP/new/store")" = "root 755" ] || fail "created store.dir: $(stat -c '%U %a' "$TMP/new/store")"
ok "a missing store.dir is created with mode 0755"

# --- a full filesystem ---
FULL=$TMP/full
mkdir "$FULL"
mount -t tmpfs -o size=64k,mode=0755 hostlat-test "$FULL"
on_exit umount -l "$FULL"
fill() { dd if=/dev/zero of="$FULL/filler.$1" bs=4k 2>/dev/null || true; }
fill 1
start "$FULL"
wait_for 30 at_least 5 hostlat.traffic.store.errors reason=no_space ||
	{ cat "$TMP/agent.err" >&2; fail "failed writes not counted: $(value hostlat.traffic.store.errors)"; }
grep "cannot store" "$TMP/agent.err"
[ "$(count "cannot store runs in $FULL: No space left on device (ENOSPC)")" = 1 ] ||
	fail "ENOSPC not named exactly once over $(value hostlat.traffic.store.errors) failed writes"
[ "$(count "cannot store")" = 1 ] || fail "more than one message for one full disk"
[ "$(count "Input/output error")" = 0 ] || fail "ENOSPC logged as EIO"
[ "$(value hostlat.traffic.store.errors)" = "$(value hostlat.traffic.store.errors reason=no_space)" ] ||
	fail "failed writes counted under another reason"
# Room again: a run is stored, said once; full again: named again.
rm -f "$FULL/filler.1"
wait_for 30 grep -q "runs are stored in $FULL again, after [0-9]* failed writes" "$TMP/agent.err" ||
	fail "no run stored once there was room"
wait_runs_in "$FULL" || fail "no run file"
before=$(value hostlat.traffic.store.errors)
fill 2
wait_for 30 at_least $((before + 2)) hostlat.traffic.store.errors reason=no_space ||
	fail "failures after the refill not counted"
[ "$(count "cannot store runs in $FULL: No space left on device (ENOSPC)")" = 2 ] ||
	fail "ENOSPC not named again after runs were stored"
stop_agent
[ -z "$(ls -A "$FULL" | grep '^\.hostlat-traffic-')" ] || fail "a failed write left its dot file: $(ls -A "$FULL")"
ok "a full disk: ENOSPC named once until a run is stored again, every failed write counted"

# --- symbolic links planted at the temporary names of the next runs ---
STORE=$TMP/planted
mkdir -m 0755 "$STORE"
echo keep >"$TMP/victim"
# Every millisecond of the next 20 seconds (UTC), as the runs name themselves.
now=$(date -u +%s)
"$PY" - "$STORE" "$TMP/victim" "$VETH_B" "$now" <<'PY'
import os, sys, time
store, victim, ifname, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for s in range(now, now + 20):
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(s))
    for ms in range(1000):
        os.symlink(victim, "%s/.hostlat-traffic-%s.%03dZ-%s-1ms.csv.gz" % (store, stamp, ms, ifname))
PY
start "$STORE"
# Runs of the planted seconds: each went past a link (it is gone).
planted_runs() {
	local n=0 f
	for f in "$STORE"/hostlat-traffic-*.csv.gz; do
		[ -f "$f" ] || continue
		s=$(basename "$f" | sed 's/^hostlat-traffic-\([0-9T]*\)\..*/\1/')
		t=$(date -u -d "$(echo "$s" | sed 's/\(....\)\(..\)\(..\)T\(..\)\(..\)\(..\)/\1-\2-\3 \4:\5:\6/')" +%s)
		[ "$t" -lt $((now + 20)) ] && n=$((n + 1))
	done
	[ $n -ge "$1" ]
}
wait_for 30 planted_runs 2 || { ls -A "$STORE" | grep -v '^\.' >&2; fail "no run stored over the planted links"; }
stop_agent
[ "$(cat "$TMP/victim")" = keep ] || fail "a planted link's target was written"
for f in "$STORE"/hostlat-traffic-*.csv.gz; do
	[ -f "$f" ] && [ ! -L "$f" ] || fail "$f is not a file of its own"
	[ ! -e "$STORE/.$(basename "$f")" ] || fail "the planted link of $f is still there"
done
"$HOSTLAT" traffic show --dir "$STORE" >/dev/null || fail "the runs stored past the links cannot be read"
[ "$(count "cannot store")" = 0 ] || fail "storing failed over planted links"
ok "links planted at the runs' temporary names: their target untouched, the runs are files"
