#!/bin/sh
# container-base.sh IMAGE: make sure podman has the base image IMAGE (the
# Dockerfile's FROM, e.g. debian:bookworm-slim) without
# pulling from an image registry: when it is missing, build a minimal Debian
# root file system with debootstrap, from the Debian mirror this machine's
# apt sources name, and `podman import` it under that name.
#
# The root file system is cached as a tarball in $HOSTLAT_CACHE
# (/var/cache/hostlat by default) so that a wiped podman store does not
# mean another debootstrap; delete the tarball to refresh it.
set -eu
image=${1:?usage: $0 IMAGE}
cache=${HOSTLAT_CACHE:-/var/cache/hostlat}
suite=bookworm

podman image exists "$image" && exit 0
mkdir -p "$cache"
exec 9>"$cache/base.lock"
flock 9 # one builder at a time; the others find the image afterwards
podman image exists "$image" && exit 0
tarball=$cache/debian-$suite-minbase.tar.gz

# The first Debian mirror (not a security or other special suite) in the
# apt sources, one-line (.list) or deb822 (.sources) format.
mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\)[[:space:]]\+\([a-z]\+\)[[:space:]].*\bmain\b.*/\2 \3/p' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			uri = ""; suites = ""; types = ""; comps = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
				if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
				if ($i ~ /^Types:/) types = $i
				if ($i ~ /^Components:/) comps = $i
			}
			split(suites, s, /[ \t]+/)
			if (types ~ /[ \t]deb([ \t]|$)/ && comps ~ /[ \t]main([ \t]|$)/ && s[1] ~ /^[a-z]+$/)
				print uri, s[1]
		}' "$f"
	done
}
url=$(mirror | awk '$2 !~ /-/ { print $1; exit }')
[ -n "$url" ] || {
	echo "container-base: no Debian mirror in the apt sources (/etc/apt/sources.list*)" >&2
	exit 1
}

if [ ! -s "$tarball" ]; then
	command -v debootstrap >/dev/null || {
		echo "container-base: debootstrap is not installed (tools/deps.sh test installs it)" >&2
		exit 1
	}
	root=$(mktemp -d "$cache/rootfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	echo "container-base: debootstrap --variant=minbase $suite from $url (once; cached in $tarball)"
	if ! timeout "${HOSTLAT_DEBOOTSTRAP_TIMEOUT:-240}" debootstrap --variant=minbase "$suite" "$root" "$url" \
		>"$cache/debootstrap.log" 2>&1; then
		tail -n 20 "$cache/debootstrap.log" >&2
		echo "container-base: debootstrap failed (log: $cache/debootstrap.log)" >&2
		exit 1
	fi
	# What the slim images leave out: downloaded packages, package lists.
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar -C "$root" -c . | gzip -1 >"$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
fi
podman import --quiet "$tarball" "$image" >/dev/null
echo "container-base: imported $tarball as $image"
