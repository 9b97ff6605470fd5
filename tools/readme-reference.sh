#!/bin/sh
# readme-reference.sh HOSTLAT [--check]: write (or check) the config reference
# between the config-reference markers of README.md from `hostlat --config-reference`.
set -eu
bin=$1
mode=${2:-write}
cd "$(dirname "$0")/.."
ref=$(mktemp)
new=$(mktemp)
trap 'rm -f "$ref" "$new"' EXIT
"$bin" --config-reference >"$ref"
awk -v ref="$ref" '
	/<!-- config-reference:start -->/ { print; while ((getline l < ref) > 0) print l; skip = 1; next }
	/<!-- config-reference:end -->/ { skip = 0 }
	!skip { print }
' README.md >"$new"
if [ "$mode" = --check ]; then
	if ! cmp -s README.md "$new"; then
		echo "README.md's config reference is out of date; run: make readme" >&2
		diff -u README.md "$new" >&2 || true
		exit 1
	fi
else
	cp "$new" README.md
fi
