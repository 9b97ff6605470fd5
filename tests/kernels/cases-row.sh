#!/usr/bin/env bash
# A row of the kernel matrix's guest cases, named by the link in tests/cases/
# that runs it: 98-kernel-cases-NAME-K.sh -> ../kernels/cases-row.sh is part
# K of as many parts as kernel NAME has such links (matrix.sh --cases NAME
# K/N): a guest of its own for every Nth run of tests/kernels/guest-cases.list
# from the Kth on, so that no boot comes near its time limit on a busy machine.
# run.sh: guest 100
self=$(basename "$0" .sh)
k=${self##*-}
name=${self%-*}
name=${name#98-kernel-cases-}
n=$(find "$(dirname "$0")" -maxdepth 1 -name "98-kernel-cases-$name-*.sh" | wc -l)
exec "$(dirname "$0")/../kernels/matrix.sh" --cases "$name" "$k/$n"
