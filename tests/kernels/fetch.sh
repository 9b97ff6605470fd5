#!/usr/bin/env bash
# fetch.sh NAME: make Debian's kernel NAME (6.1 or 6.12, see kernels.list)
# ready to boot under QEMU, and print the directory that holds it.
#
# The image package is the one Debian's current metapackage for NAME depends
# on (resolved at run time: no version is written down here), downloaded with
# `apt-get download` and unpacked with `dpkg-deb -x` into
#   $HOSTLAT_KERNEL_CACHE/<package>/   (default /var/cache/hostlat/kernels)
# holding boot/vmlinuz-*, lib/modules/<release>/ (with modules.dep) and a
# `release` file. A complete cache entry is reused: a fresh machine downloads
# each kernel once. Nothing is installed on the host.
#
# Exit 0: the directory is printed. Exit 3: the kernel cannot be had here
# (no archive reachable, no such package); the reason is on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: fetch.sh NAME}
cache=${HOSTLAT_KERNEL_CACHE:-/var/cache/hostlat/kernels}

meta=$(awk -v n="$name" '$1 == n { print $2 }' "$here/kernels.list")
[ -n "$meta" ] || { echo "fetch: no kernel named '$name' in $here/kernels.list" >&2; exit 2; }

cannot() { echo "fetch: kernel $name cannot be had: $*" >&2; exit 3; }

# The image package the metapackage points at, e.g. linux-image-6.1.0-57-amd64.
resolve() {
	apt-cache depends --no-pre-depends --no-suggests --no-recommends --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}
pkg=$(resolve)
if [ -z "$pkg" ]; then
	# The package lists may be missing or stale on a fresh machine.
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve)
fi
[ -n "$pkg" ] || cannot "the archive has no metapackage $meta (apt-get update failed or it is not in the configured suites)"

dir=$cache/$pkg
ready() { [ -s "$dir/release" ] && [ -f "$dir/lib/modules/$(cat "$dir/release")/modules.dep" ]; }
if ready; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
# Rows of the matrix run in parallel (tests/run.sh): one fetches a kernel,
# the others wait for it and find it ready.
exec 9>"$cache/.fetch-$pkg.lock"
flock 9
if ready; then
	echo "$dir"
	exit 0
fi
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user cannot write into root's directories: download as root.
(cd "$tmp" && apt-get download -o APT::Sandbox::User=root "$pkg" >/dev/null 2>"$tmp/apt.err") ||
	cannot "apt-get download $pkg failed: $(tail -n 1 "$tmp/apt.err")"
dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
rel=$(basename "$(ls -d "$tmp"/root/lib/modules/*/ | head -n 1)")
[ -f "$tmp/root/boot/vmlinuz-$rel" ] || cannot "$pkg has no boot/vmlinuz-$rel"
# The guest needs modules.dep (the package's postinst would make it).
depmod -b "$tmp/root" "$rel"
# Firmware, sound, GPU and wireless modules are never used by the guests.
rm -rf "$tmp/root/lib/modules/$rel/kernel/sound" "$tmp/root/lib/modules/$rel/kernel/drivers/gpu" \
	"$tmp/root/lib/modules/$rel/kernel/drivers/net/wireless" "$tmp/root/usr"
echo "$rel" >"$tmp/root/release"
rm -rf "$dir"
mv "$tmp/root" "$dir"
echo "$dir"
