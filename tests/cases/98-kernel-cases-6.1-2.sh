#!/usr/bin/env bash
# The kernel matrix, 6.1 row, cases part 2 of 5: the run of
# tests/kernels/guest-cases.list (the cases written for any kernel: the
# features whose hooks this machine's kernel lacks) that falls to part 2,
# inside Debian's 6.1 kernel under QEMU (tests/kernels/matrix.sh --cases).
# One run per boot: a row stays far below its time limit on a busy machine.
# run.sh: guest 80
exec "$(dirname "$0")/../kernels/matrix.sh" --cases 6.1 2/5
