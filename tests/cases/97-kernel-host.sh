#!/usr/bin/env bash
# The kernel matrix, host row: the smoke test of every probe on this
# machine's own kernel (tests/kernels/smoke.sh); what the kernel lacks must
# be reported by --check and must record nothing.
SMOKE_REPORT=${BUILD:-build}/kernels/host/report.tsv
mkdir -p "$(dirname "$SMOKE_REPORT")"
rm -f "$SMOKE_REPORT"
export SMOKE_REPORT SMOKE_ARTIFACTS=${BUILD:-build}/kernels/host/artifacts
exec "$(dirname "$0")/../kernels/smoke.sh"
