#!/usr/bin/env bash
# The C sources follow .clang-format (kernel style), and README.md's config
# reference is what the agent's own option table prints.
source "$(dirname "$0")/../lib.sh"
command -v clang-format >/dev/null || skip "clang-format not installed"
files=$(ls agent/*/*.[ch] exporters/*.[ch] bpf/*.[ch] tests/unit/*.[ch])
clang-format --dry-run --Werror $files || fail "clang-format: run 'make format'"
ok "clang-format clean"
tools/readme-reference.sh "$BUILD/hostlat" --check || fail "README config reference stale"
ok "README config reference up to date"
grep -q 'make run' README.md && grep -q 'make test' README.md || fail "README lacks the two commands"
