#!/bin/sh
# Runs as the guest's pid 1 on the root init.sh built: mounts what a
# booted system has and the output share at /hostlat-out, runs its cmd
# (boot.sh wrote it) with the output in cmd.log, writes its exit code to
# rc there and powers the guest off.
out=/hostlat-out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /run/lock
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hostlatout "$out" || {
	echo "stage2: cannot mount the output share at $out"
	echo o >/proc/sysrq-trigger
}
ip link set lo up
hostname "guest-$(uname -r | tr -c "a-zA-Z0-9\n-" -)"
bash "$out/cmd" >"$out/cmd.log" 2>&1
echo $? >"$out/rc"
sync
echo o >/proc/sysrq-trigger
sleep 30
