#!/usr/bin/env bash
# cases.sh: run inside a guest by matrix.sh --cases. $CASES holds lines
# "NAME [kprobe]" (tests/kernels/guest-cases.list): each case runs with the
# kernel's preferred hooks and, for `kprobe`, again with
# HOSTLAT_DISABLE_HOOKS=fentry. $PART ("K/N", default 1/1) picks every Nth
# of those runs, from the Kth on: a row of the matrix boots a guest per part.
# Prints one line per run and the output of a run that failed; exits 1 when
# any run failed (77 alone is a skip). Every run's output, each line after
# the seconds since the run began, stays in $HOSTLAT_GUEST_OUT/runs/.
set -u
cd "$(dirname "$0")/../.."
modprobe veth 2>/dev/null || true
part=${PART:-1/1}
k=${part%/*} n=${part#*/}
logs=${HOSTLAT_GUEST_OUT:-/tmp}/runs
mkdir -p "$logs"
failed=0 i=0
run() {
	local label=$1 rc start=$SECONDS log
	shift
	i=$((i + 1))
	[ $(((i - 1) % n)) -eq $((k - 1)) ] || return 0
	log=$logs/$(echo "$label" | tr ' ' '-').log
	"$@" 2>&1 | while IFS= read -r line; do printf '%4d %s\n' $((SECONDS - start)) "$line"; done >"$log"
	rc=${PIPESTATUS[0]}
	case $rc in
	0) echo "PASS  $label ($((SECONDS - start)) s)" ;;
	77) echo "SKIP  $label: $(tail -n 1 "$log")" ;;
	*) failed=1
	   echo "FAIL  $label (exit $rc, $((SECONDS - start)) s)"
	   tail -n 40 "$log" | sed 's/^/      | /' ;;
	esac
}
while read -r name modes; do
	[ -n "$name" ] || continue
	run "$name" bash "tests/cases/$name"
	case " $modes " in
	*" kprobe "*) run "$name without fentry" env HOSTLAT_DISABLE_HOOKS=fentry bash "tests/cases/$name" ;;
	esac
done <<<"$CASES"
exit $failed
