#!/usr/bin/env bash
# boot.sh KDIR OUT COMMAND...: boot the kernel unpacked in KDIR (fetch.sh)
# under QEMU and run COMMAND in it, as root, in this directory, with this
# machine's root file system shared read-only (a tmpfs overlay on top, the
# way virtme-ng does) so that the binaries built here run unchanged.
#
# OUT (created) is shared writable with the guest, at /hostlat-out there
# ($HOSTLAT_GUEST_OUT): the guest's console goes to OUT/console.log,
# COMMAND's output to OUT/cmd.log and its exit code to OUT/rc.
# Exits with COMMAND's code; 124 when the guest did not finish within
# HOSTLAT_VM_TIMEOUT seconds (default 480, under tests/run.sh's 600 s per
# test), 125 when it did not run.
#
# TCG (-accel tcg, software emulation) is used unless HOSTLAT_VM_ACCEL=kvm:
# the KVM device of some cloud VMs cannot boot a stock kernel (QEMU aborts).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=${1:?usage: boot.sh KDIR OUT COMMAND...}
out=${2:?usage: boot.sh KDIR OUT COMMAND...}
shift 2
[ $# -gt 0 ] || { echo "boot: no command" >&2; exit 2; }
rel=$(cat "$kdir/release")
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/rc" "$out/console.log"

# The initramfs: busybox, the modules the root mount needs (where the kernel
# has them as modules), and init.sh. Built once per kernel.
initrd=$kdir/initramfs.cpio.gz
if [ ! -s "$initrd" ] || [ "$initrd" -ot "$here/init.sh" ]; then
	tmp=$(mktemp -d)
	mkdir -p "$tmp"/{bin,dev,proc,sys,mnt,modules}
	cp "$(command -v busybox)" "$tmp/bin/busybox"
	for a in sh mount mkdir insmod switch_root cat echo sleep ln readlink; do
		ln -s busybox "$tmp/bin/$a"
	done
	n=0
	# insmod lines in load order (modprobe resolves the dependencies).
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		n=$((n + 1))
		f=$tmp/modules/$(printf '%02d' $n)-$(basename "${path%.xz}")
		case $path in
		*.xz) xz -dc "$path" >"${f}" ;;
		*.zst) zstd -qdc "$path" >"${f%.zst}" ;;
		*) cp "$path" "$f" ;;
		esac
	done < <(modprobe -d "$kdir" -S "$rel" --show-depends -a 9pnet_virtio 9p overlay virtio_pci 2>/dev/null | awk '!seen[$0]++')
	cp "$here/init.sh" "$tmp/init"
	chmod +x "$tmp/init"
	# Two guests of one kernel may boot at once (tests/run.sh runs the
	# matrix rows in parallel): each writes its own file, the rename is atomic.
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.$$"
	mv "$initrd.$$" "$initrd"
	rm -rf "$tmp"
fi

# What the guest runs: in this directory, with these arguments.
{
	printf 'cd %q\n' "$PWD"
	printf 'export HOSTLAT_GUEST_OUT=/hostlat-out HOSTLAT_GUEST_KERNEL=%q PATH=%q\n' "$rel" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	printf '%q ' "$@"
	echo
} >"$out/cmd"

# One host thread runs every vCPU (thread=single): with multi-threaded TCG
# a guest once died of an int3 oops in handle_softirqs right as the agent
# attached its tracepoints (the kernel patches their static jumps with int3
# while the other vCPU runs that code; CI, 1 run in about 10). HOSTLAT_VM_TCG=multi
# brings the faster, racier mode back.
accel="-accel tcg,thread=${HOSTLAT_VM_TCG:-single} -cpu max"
if [ "${HOSTLAT_VM_ACCEL:-auto}" = kvm ]; then
	accel="-accel kvm -cpu host"
fi
mem=${HOSTLAT_VM_MEM:-2048}
smp=${HOSTLAT_VM_CPUS:-2}

set +e
# The guest never outlives this script, whatever ends it.
qpid=
# timeout(1) runs in a process group of its own with qemu: kill the group.
trap '[ -n "$qpid" ] && kill -KILL -- -"$qpid" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC2086
timeout --kill-after=10 "${HOSTLAT_VM_TIMEOUT:-480}" \
	qemu-system-x86_64 $accel -m "$mem" -smp "$smp" -nographic -no-reboot -nodefaults \
	-serial "file:$out/console.log" -monitor none \
	-kernel "$kdir/boot/vmlinuz-$rel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 hostlat.kdir=$kdir hostlat.release=$rel hostlat.stage2=$here/stage2.sh" \
	-fsdev local,id=root,path=/,security_model=none,readonly=on -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
	-fsdev local,id=out,path="$out",security_model=none -device virtio-9p-pci,fsdev=out,mount_tag=hostlatout \
	</dev/null >"$out/qemu.log" 2>&1 &
qpid=$!
wait $qpid
qrc=$?
qpid=
set -e
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "boot: the guest ($rel) did not finish within ${HOSTLAT_VM_TIMEOUT:-480} s" >&2
	exit 124
fi
if [ ! -s "$out/rc" ]; then
	echo "boot: the guest ($rel) did not run the command (qemu exit $qrc); last console lines:" >&2
	tail -n 20 "$out/console.log" "$out/qemu.log" >&2 2>/dev/null || true
	exit 125
fi
exit "$(cat "$out/rc")"
