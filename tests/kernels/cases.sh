#!/usr/bin/env bash
# cases.sh: run inside a guest by matrix.sh --cases. $CASES holds lines
# "NAME [kprobe]" (tests/kernels/guest-cases.list): each case runs with the
# kernel's preferred hooks and, for `kprobe`, again with
# HOSTLAT_DISABLE_HOOKS=fentry. Prints one line per run and the output of
# a run that failed; exits 1 when any run failed (77 alone is a skip).
set -u
cd "$(dirname "$0")/../.."
modprobe veth 2>/dev/null || true
failed=0
run() {
	local label=$1 rc start=$SECONDS
	shift
	"$@" >"/tmp/case.log" 2>&1
	rc=$?
	case $rc in
	0) echo "PASS  $label ($((SECONDS - start)) s)" ;;
	77) echo "SKIP  $label: $(tail -n 1 /tmp/case.log)" ;;
	*) failed=1
	   echo "FAIL  $label (exit $rc, $((SECONDS - start)) s)"
	   tail -n 40 /tmp/case.log | sed 's/^/      | /' ;;
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
