#!/usr/bin/env bash
# matrix.sh NAME: the kernel NAME of tests/kernels/kernels.list (a Debian
# kernel, fetched by fetch.sh) boots under QEMU and runs smoke.sh
# --require-all there: every probe must load, attach and record samples;
# then again with HOSTLAT_DISABLE_HOOKS=fentry --expect-kprobe: the stages
# and functions that have a kprobe hook must run on kprobes.
# Its logs, --check output and per-item table stay in $BUILD/kernels/NAME/.
#
# matrix.sh --cases NAME [K/N]: the same kernel runs, in one boot, the test
# cases that tests/kernels/guest-cases.list names (tests/cases/*.sh written
# to hold on any kernel): each with the kernel's preferred hooks (fentry)
# and, where the line says `kprobe`, again with HOSTLAT_DISABLE_HOOKS=fentry;
# with K/N only every Nth of those runs from the Kth on (cases.sh), so that
# N boots share them. Logs in $BUILD/kernels/NAME-cases[-K]/ (runs/ there
# holds every run's output).
# Exit 77 (skipped, with the reason) when the kernel or QEMU cannot be had
# here; never passes without having run.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
cases=
if [ "${1:-}" = --cases ]; then
	cases=1
	shift
fi
name=${1:?usage: matrix.sh [--cases] NAME [K/N]}
part=${2:-}
if [ -n "$part" ]; then
	[ -n "$cases" ] && [[ $part =~ ^[1-9][0-9]*/[1-9][0-9]*$ ]] && [ "${part%/*}" -le "${part#*/}" ] ||
		{ echo "usage: matrix.sh --cases NAME [K/N] (1 <= K <= N)" >&2; exit 2; }
fi
out=$BUILD/kernels/$name${cases:+-cases}${part:+-${part%/*}}
skip() { echo "SKIP: $*"; exit 77; }
rm -rf "$out" # no earlier run's results stand for this one
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is missing (make test-deps installs qemu-system-x86)"
command -v busybox >/dev/null || skip "busybox is missing (make test-deps installs busybox-static)"
[ -x "$BUILD/hostlat" ] || { echo "FAIL: $BUILD/hostlat is not built"; exit 1; }
rc=0
kdir=$(tests/kernels/fetch.sh "$name" 2>"$BUILD/kernels-fetch-$name.err") || rc=$?
if [ $rc -eq 3 ]; then
	skip "$(tail -n 1 "$BUILD/kernels-fetch-$name.err")"
elif [ $rc -ne 0 ]; then
	cat "$BUILD/kernels-fetch-$name.err"
	echo "FAIL: cannot prepare kernel $name"
	exit 1
fi
echo "kernel $name: $kdir"
mkdir -p "$out"
rc=0
if [ -n "$cases" ]; then
	# One line per run: CASE [kprobe]; the guest runs them in turn and
	# prints PASS/FAIL/SKIP per run (a case's output follows a failure).
	list=$(grep -vE '^[[:space:]]*(#|$)' tests/kernels/guest-cases.list 2>/dev/null) ||
		skip "tests/kernels/guest-cases.list names no case"
	rc=0
	tests/kernels/boot.sh "$kdir" "$out" env BUILD="$BUILD" HOSTLAT="$BUILD/hostlat" \
		CASES="$list" PART="${part:-1/1}" bash tests/kernels/cases.sh || rc=$?
	cat "$out/cmd.log" 2>/dev/null
	[ $rc -eq 0 ] && { echo "ok: kernel $name: the guest cases passed"; exit 0; }
	grep -n -m1 -E 'BUG:|Oops|general protection|Kernel panic' "$out/console.log" 2>/dev/null &&
		tail -n +"$(grep -n -m1 -E 'BUG:|Oops|general protection|Kernel panic' "$out/console.log" | cut -d: -f1)" \
			"$out/console.log" | head -n 40
	echo "FAIL: kernel $name: guest cases (exit $rc; logs in $out)"
	exit 1
fi
tests/kernels/boot.sh "$kdir" "$out" env BUILD="$BUILD" HOSTLAT="$BUILD/hostlat" \
	SMOKE_REPORT=/hostlat-out/report.tsv sh -c '
		SMOKE_ARTIFACTS=/hostlat-out/artifacts bash tests/kernels/smoke.sh --require-all || exit
		echo "=== again without BPF trampolines: the kprobe hooks"
		HOSTLAT_DISABLE_HOOKS=fentry SMOKE_ARTIFACTS=/hostlat-out/artifacts-kprobe \
			bash tests/kernels/smoke.sh --expect-kprobe' || rc=$?
cat "$out/cmd.log" 2>/dev/null
if [ $rc -ne 0 ]; then
	# A guest kernel that crashed: its first report (the oops line names
	# the fault, the call trace the code), not only the panic's tail.
	first=$(grep -n -m1 -E 'BUG:|Oops|general protection|Kernel panic|WARNING: CPU' "$out/console.log" 2>/dev/null | cut -d: -f1)
	if [ -n "$first" ]; then
		echo "--- the guest kernel crashed; its report (console.log from line $first):"
		tail -n +"$first" "$out/console.log" | head -n 40
	else
		echo "--- guest console (last lines)"
		tail -n 30 "$out/console.log" 2>/dev/null
	fi
	echo "FAIL: kernel $name (exit $rc; logs in $out)"
	exit 1
fi
echo "ok: kernel $name"
