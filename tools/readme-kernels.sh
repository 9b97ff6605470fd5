#!/bin/sh
# readme-kernels.sh: write the "Supported kernels" table of README.md (between
# the kernels markers) from what the last kernel matrix run measured,
# build/kernels/{6.1,6.12,host}/report.tsv (tests/kernels/smoke.sh).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
reports=""
for k in 6.1 6.12 host; do
	[ -s "$BUILD/kernels/$k/report.tsv" ] && reports="$reports $BUILD/kernels/$k/report.tsv"
done
if [ -z "$reports" ]; then
	echo "readme-kernels: no kernel matrix results in $BUILD/kernels (run make test-kernels); table kept" >&2
	exit 0
fi
table=$(mktemp)
new=$(mktemp)
trap 'rm -f "$table" "$new"' EXIT
# shellcheck disable=SC2086
python3 tests/kernels/table.py $reports >"$table"
awk -v t="$table" '
	/<!-- kernels:start -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
	/<!-- kernels:end -->/ { skip = 0 }
	!skip { print }
' README.md >"$new"
cp "$new" README.md
