#!/usr/bin/env bash
# The agent's exponential histograms (build/asan/exphist record: the kernel's
# exact bucketing table, then struct hl_hist) against the OpenTelemetry JS
# SDK's ExponentialHistogram aggregation on the same data: scale, offset,
# bucket counts, count, zero count exactly; sum to 1e-9; min/max exactly.
# Needs node and tests/node_modules (npm ci in tests/); skips (77) without
# them. EXPHIST=path overrides the binary.
source "$(dirname "$0")/../lib.sh"
EXPHIST=${EXPHIST:-$BUILD/asan/exphist}
[ -x "$EXPHIST" ] || EXPHIST=$BUILD/exphist

need_npm @opentelemetry/sdk-metrics @opentelemetry/sdk-metrics
[ -x "$EXPHIST" ] || fail "no exphist binary ($BUILD/asan/exphist or $BUILD/exphist): run make"
echo "exphist: $EXPHIST"
node tests/sdk/compare_sdk.js "$EXPHIST" || fail "the agent's histograms differ from the SDK's"
