#!/usr/bin/env bash
# A plugin path that is not a whole shared object (a truncated copy, which
# dlopen maps and then faults on with SIGBUS; a FIFO, which would block the
# open; a directory; a text file; a library for another machine) is refused
# before dlopen: `--check` and a run both exit 2 with one message naming the
# file and the cause, no signal, no sanitizer report (ASan build).
source "$(dirname "$0")/../lib.sh"
need_root
CSV_SO=$BUILD/plugins/hostlat_csv.so
[ -r "$CSV_SO" ] || fail "$CSV_SO is not built (make all)"
head -c 3000 "$CSV_SO" >"$TMP/cut.so"
# Cut one byte short of the end of its last loaded segment (the rest of
# the file, debug sections, is not mapped: a copy without it loads).
end=$("$PY" - "$CSV_SO" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
phoff, = struct.unpack_from("<Q", d, 32)
phentsize, phnum = struct.unpack_from("<HH", d, 54)
ends = [struct.unpack_from("<Q", d, phoff + i * phentsize + 8)[0] +
        struct.unpack_from("<Q", d, phoff + i * phentsize + 32)[0]
        for i in range(phnum) if struct.unpack_from("<I", d, phoff + i * phentsize)[0] == 1]
print(max(ends))
PY
)
head -c $((end - 1)) "$CSV_SO" >"$TMP/short.so"
mkfifo "$TMP/fifo.so"
mkdir "$TMP/dir.so"
echo "not a library" >"$TMP/text.so"
# The same object, its ELF header saying another machine (e_machine at byte 18).
cp "$CSV_SO" "$TMP/arm.so"
printf '\xb7\x00' | dd of="$TMP/arm.so" bs=1 seek=18 conv=notrunc status=none

n=0
# refused PATH TEXT: --check and a run of an agent with plugin PATH exit 2
# within 20 s, stderr naming PATH and TEXT.
refused() {
	local path=$1 want=$2 f=$TMP/c$n.yaml mode rc
	n=$((n + 1))
	printf 'agent: { interval: 1s }\nprobes: { stack_latency: { enabled: false } }\nexporters:\n  - { type: plugin, path: %s, config: { file: %s } }\n' \
		"$path" "$TMP/out.csv" >"$f"
	for mode in --check run; do
		rc=0
		if [ $mode = run ]; then
			timeout 20 "$HOSTLAT" --config "$f" >"$f.out" 2>"$f.err" || rc=$?
		else
			timeout 20 "$HOSTLAT" --check --config "$f" >"$f.out" 2>"$f.err" || rc=$?
		fi
		[ $rc -eq 2 ] || { cat "$f.err" >&2; fail "$path ($mode): exit $rc, want 2"; }
		grep -qF "cannot load plugin '$path': $want" "$f.err" ||
			{ cat "$f.err" >&2; fail "$path ($mode): no '$want'"; }
		! grep -q "Sanitizer\|SIGBUS" "$f.err" || { cat "$f.err" >&2; fail "$path: crash report"; }
	done
	ok "$path refused: $want"
}

refused "$TMP/cut.so" "truncated: a segment ends at byte "
refused "$TMP/short.so" "truncated: a segment ends at byte $end, the file has $((end - 1))"
refused "$TMP/fifo.so" "not a regular file"
refused "$TMP/dir.so" "not a regular file"
refused "$TMP/text.so" "not an ELF file"
refused "$TMP/arm.so" "not a shared object for this machine"
