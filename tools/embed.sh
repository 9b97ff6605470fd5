#!/bin/sh
# embed.sh SYMBOL FILE: print a C file defining `const char SYMBOL[]` with FILE's text.
set -eu
sym=$1
file=$2
printf '/* Generated from %s by tools/embed.sh; do not edit. */\n' "$file"
printf 'const char %s[] =\n' "$sym"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$file"
printf '\t"";\n'
