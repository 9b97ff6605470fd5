#!/usr/bin/env bash
# The kernel matrix: Debian's 6.1 kernel booted under QEMU runs every probe
# on real traffic (tests/kernels/matrix.sh, smoke.sh --require-all).
# run.sh: guest 110
exec "$(dirname "$0")/../kernels/matrix.sh" 6.1
