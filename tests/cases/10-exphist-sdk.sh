#!/usr/bin/env bash
# The agent's exponential histograms (build/asan/exphist record: the kernel's
# exact bucketing table, then struct hl_hist) against the OpenTelemetry JS
# SDK's ExponentialHistogram aggregation on the same data: scale, offset,
# bucket counts, count, zero count exactly; sum to 1e-9; min/max exactly.
# Needs node and tests/node_modules (npm ci in tests/); skips (77) without
# the latter. EXPHIST=path overrides the binary.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
EXPHIST=${EXPHIST:-$BUILD/asan/exphist}
[ -x "$EXPHIST" ] || EXPHIST=$BUILD/exphist

if [ ! -d tests/node_modules/@opentelemetry/sdk-metrics ]; then
	echo "SKIP: tests/node_modules is missing (run npm ci in tests/)"
	exit 77
fi
if [ ! -x "$EXPHIST" ]; then
	echo "FAIL: no exphist binary ($BUILD/asan/exphist or $BUILD/exphist): run make" >&2
	exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
echo "exphist: $EXPHIST"
if node tests/sdk/compare_sdk.js "$EXPHIST"; then
	exit 0
fi
exit 1
