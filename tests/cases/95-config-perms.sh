#!/usr/bin/env bash
# A privileged agent's config (and its exporter plugins) must be changeable
# by root only: the agent (and --check) warns, saying who else can change
# it, when the file is owned by another user, writable by a group or by
# everyone, or sits in a directory others can write (a sticky directory
# like /tmp is fine for a root-owned file), also through a symbolic link.
# A root-owned file in root-owned directories gets no warning.
source "$(dirname "$0")/../lib.sh"
need_root
[ -x "$BUILD/plugins/hostlat_csv.so" ] || fail "$BUILD/plugins/hostlat_csv.so is not built"

# check FILE EXPECTED: --check's warning about FILE contains EXPECTED ("" for none).
check() {
	local file=$1 want=$2
	check_runs "$TMP/err" "$HOSTLAT" --check --config "$file"
	if [ -z "$want" ]; then
		! grep "users other than root" "$TMP/err" || fail "$file: an unexpected warning"
		echo "no warning: $file"
	else
		grep -qF "hostlat: warn: agent: config $file: users other than root can change it: $want" \
			"$TMP/err" || fail "$file: expected '$want', got: $(grep warn "$TMP/err")"
		grep "users other than root" "$TMP/err"
	fi
}
conf() {
	mkdir -p "$(dirname "$1")"
	printf 'agent: { interval: 5s }\nprobes: { stack_latency: { enabled: false } }\n' >"$1"
	chmod 0644 "$1"
}

conf "$TMP/safe/hostlat.yaml"
chmod 0755 "$TMP/safe"
check "$TMP/safe/hostlat.yaml" ""
chmod 0666 "$TMP/safe/hostlat.yaml"
check "$TMP/safe/hostlat.yaml" "$TMP/safe/hostlat.yaml is writable by everyone (mode 0666)"
chmod 0664 "$TMP/safe/hostlat.yaml"
chgrp 65534 "$TMP/safe/hostlat.yaml"
check "$TMP/safe/hostlat.yaml" "$TMP/safe/hostlat.yaml is writable by group 65534 (mode 0664)"
chgrp 0 "$TMP/safe/hostlat.yaml"
check "$TMP/safe/hostlat.yaml" ""
chown 65534 "$TMP/safe/hostlat.yaml"
check "$TMP/safe/hostlat.yaml" "$TMP/safe/hostlat.yaml is owned by uid 65534"
chown 0 "$TMP/safe/hostlat.yaml"

conf "$TMP/open/hostlat.yaml"
chmod 0777 "$TMP/open"
check "$TMP/open/hostlat.yaml" "directory $TMP/open is writable by everyone (mode 0777)"
chmod 1777 "$TMP/open"
check "$TMP/open/hostlat.yaml" ""
chown 65534 "$TMP/open/hostlat.yaml"
check "$TMP/open/hostlat.yaml" "$TMP/open/hostlat.yaml is owned by uid 65534"
chown 0 "$TMP/open/hostlat.yaml"
chmod 0755 "$TMP/open"

# Through a symbolic link: the file it points to counts.
conf "$TMP/target/real.yaml"
chmod 0777 "$TMP/target"
ln -s "$TMP/target/real.yaml" "$TMP/safe/link.yaml"
check "$TMP/safe/link.yaml" "directory $TMP/target is writable by everyone (mode 0777)"
# Relative paths are resolved from the working directory.
bin=$(realpath "$HOSTLAT")
(cd "$TMP/safe" && check_runs "$TMP/err" "$bin" --check --config hostlat.yaml) || fail "relative path"
! grep "users other than root" "$TMP/err" || fail "a relative path to a safe file is reported"

# Exporter plugins run inside the agent: the same rule.
mkdir -p "$TMP/plug"
cp "$BUILD/plugins/hostlat_csv.so" "$TMP/plug/csv.so"
chmod 0666 "$TMP/plug/csv.so"
printf 'exporters:\n  - { type: plugin, path: %s, config: { file: %s } }\n' "$TMP/plug/csv.so" \
	"$TMP/x.csv" >"$TMP/safe/plugin.yaml"
check_runs "$TMP/err" "$HOSTLAT" --check --config "$TMP/safe/plugin.yaml"
grep -qF "hostlat: warn: agent: plugin $TMP/plug/csv.so: users other than root can change it: $TMP/plug/csv.so is writable by everyone (mode 0666)" \
	"$TMP/err" || fail "no warning about the plugin: $(cat "$TMP/err")"
grep "plugin" "$TMP/err"
ok "warnings name who else can change the config or a plugin; safe files get none"
