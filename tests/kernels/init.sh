#!/bin/sh
# The guest's first process (busybox, from the initramfs boot.sh builds).
# Loads the modules the root mount needs, mounts the host's root read-only
# over 9p at /host, and builds the guest's root on a tmpfs: every top-level
# directory of the host is an overlay (the host's, read-only, under a tmpfs
# layer), symlinks stay symlinks, /proc /sys /dev /run are the guest's own.
# Mount points are never on the 9p file system itself: the 9p client drops
# a mount whose directory changed on the host (host /proc, /tmp change all
# the time). Then runs stage2.sh on the new root. Arguments come on the
# kernel command line (hostlat.*=).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in /modules/*.ko; do
	[ -e "$m" ] && insmod "$m" 2>/dev/null
done
for a in $(cat /proc/cmdline); do
	case $a in
	hostlat.kdir=*) kdir=${a#hostlat.kdir=} ;;
	hostlat.release=*) rel=${a#hostlat.release=} ;;
	hostlat.stage2=*) stage2=${a#hostlat.stage2=} ;;
	esac
done
fail() {
	echo "init: $*"
	echo o >/proc/sysrq-trigger
	sleep 10
	exit 1 # pid 1 exits: the kernel panics, and panic=-1 with -no-reboot ends QEMU
}
mkdir -p /root
mount -t tmpfs -o mode=0755 tmpfs /root || fail "cannot mount tmpfs"
mkdir -p /root/host /root/.rw
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /root/host ||
	fail "cannot mount the host's root over 9p"
for p in /root/host/* /root/host/.[!.]*; do
	n=${p#/root/host/}
	[ -e "$p" ] || [ -L "$p" ] || continue
	case $n in
	proc | sys | dev | run | host | lost+found) mkdir -p "/root/$n"; continue ;;
	esac
	if [ -L "$p" ]; then
		ln -s "$(readlink "$p")" "/root/$n"
	elif [ -d "$p" ]; then
		mkdir -p "/root/$n" "/root/.rw/$n/u" "/root/.rw/$n/w"
		mount -t overlay -o "lowerdir=$p,upperdir=/root/.rw/$n/u,workdir=/root/.rw/$n/w" \
			overlay "/root/$n" || fail "cannot mount an overlay on /$n"
	fi
done
# The guest kernel's modules where modprobe looks for them.
mkdir -p /root/usr/lib/modules
ln -s "/host$kdir/lib/modules/$rel" "/root/usr/lib/modules/$rel"
mkdir -p /root/hostlat-out
exec switch_root /root /bin/sh "$stage2" || fail "switch_root failed"
