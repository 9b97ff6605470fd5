#!/bin/sh
# deps.sh build|test|bench: install the Debian packages hostlat needs that are missing.
# Checks each with dpkg -s and calls apt-get only for what is absent.
set -eu
BUILD_PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev libcjson-dev libcurl4-openssl-dev libssl-dev pkg-config iproute2"
TEST_PKGS="python3 nodejs npm iproute2 valgrind procps ethtool curl"
# the prometheus exporter against a real server (tests/cases/45-prometheus.sh)
TEST_PKGS="$TEST_PKGS prometheus"
# loss and connection tracking in the stack tests (32-stack-hol, 34-stack-conntrack: iptables rules)
TEST_PKGS="$TEST_PKGS iptables"
# the container tests (tests/cases/95-*): podman, and debootstrap for the base image
TEST_PKGS="$TEST_PKGS podman runc debootstrap"
# the kernel matrix (tests/kernels/): Debian's kernels booted under QEMU
TEST_PKGS="$TEST_PKGS qemu-system-x86 busybox-static kmod cpio xz-utils"
# libFuzzer (the fuzz targets) ships in the runtime package of the installed clang.
clang_major=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
[ -n "$clang_major" ] && TEST_PKGS="$TEST_PKGS libclang-rt-$clang_major-dev"
# make bench: veth streams, request/response, HTTP, and the bpftrace comparison
BENCH_PKGS="iproute2 iperf3 bpftool procps bpftrace sockperf nginx-light wrk python3 iptables"

case "${1:-build}" in
build) want=$BUILD_PKGS ;;
test) want="$BUILD_PKGS $TEST_PKGS" ;;
bench) want="$BUILD_PKGS $BENCH_PKGS" ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
# node and npm may come from outside Debian (e.g. nodesource or a tarball): accept them.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -v -x -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo "$missing" | xargs)
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages: $missing (run as root, or install them)" >&2
		exit 1
	fi
	echo "deps: installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "${1:-build}" = test ]; then
	# npm packages for the tests, pinned by tests/package-lock.json.
	here=$(cd "$(dirname "$0")/.." && pwd)
	if [ ! -d "$here/tests/node_modules" ] || [ "$here/tests/package-lock.json" -nt "$here/tests/node_modules/.package-lock.json" ]; then
		echo "deps: installing npm packages for the tests (tests/package-lock.json)"
		(cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
	fi
	# podman settings for hosts without systemd as init (cgroupfs) or crun,
	# where raising the default ulimits fails: written only when podman has
	# no config yet.
	if [ "$(id -u)" = 0 ] && command -v podman >/dev/null 2>&1 && [ ! -e /etc/containers/containers.conf ]; then
		mkdir -p /etc/containers
		printf '%s\n' "# Written by hostlat's tools/deps.sh (the container tests); edit freely." \
			"[containers]" "default_ulimits = []" "" "[engine]" 'runtime = "runc"' \
			'cgroup_manager = "cgroupfs"' >/etc/containers/containers.conf
		echo "deps: wrote /etc/containers/containers.conf (runc, cgroupfs, no default ulimits)"
	fi
fi
