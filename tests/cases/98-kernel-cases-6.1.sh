#!/usr/bin/env bash
# The kernel matrix, 6.1 row, second part: the cases of
# tests/kernels/guest-cases.list (those written for any kernel: the features
# whose hooks this machine's kernel lacks) inside Debian's 6.1 kernel under
# QEMU (tests/kernels/matrix.sh --cases).
exec "$(dirname "$0")/../kernels/matrix.sh" --cases 6.1
