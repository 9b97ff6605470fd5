#!/usr/bin/env bash
# Scale: collection time and export size against the number of group-by
# keys (10, 100, 1000, 10000 cgroups, simulated by writing the stack probe's
# real kernel maps: $BUILD/bench/scale, bench/scale.c), and the part of the
# collection that grows with the CPU count: reading the per-CPU bucket map,
# per entry and CPU. This machine's CPU count is fixed; the table says what
# the measured per-(entry x CPU) read cost adds at larger counts.
source "$(dirname "$0")/lib.sh"
[ -x "$BUILD/bench/scale" ] || fail "$BUILD/bench/scale is missing: make BUILD=$BUILD bench-tools"
KEYS=${KEYS:-10 100 1000 10000}
[ "$BENCH_QUICK" = 1 ] && KEYS=${KEYS_QUICK:-10 100 1000}

# shellcheck disable=SC2086
"$BUILD/bench/scale" $KEYS >"$TMP/scale.jsonl" || fail "scale failed"
bench_py - "$TMP/scale.jsonl" "$TMP/result.json" <<'PY'
import json, sys
import benchlib

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = []
for r in runs:
    per = r["hist_read_ms"] * 1e6 / max(1, r["hist_entries"] * r["cpus"])
    r["hist_read_ns_per_entry_cpu"] = per
    rows.append([str(r["keys"]), str(r["hist_entries"]), str(r["points"]), "%.2f" % r["collect_ms"],
                 "%.2f" % (r["collect_ms"] / r["keys"] * 1e3), "%.2f" % r["hist_read_ms"], "%.0f" % per,
                 "%.0f" % (r["hist_entries"] * 64 * per / 1e6), "%.0f" % (r["otlp_bytes"] / 1024),
                 "%.1f" % (r["otlp_gzip_bytes"] / 1024)])
cpus = runs[0]["cpus"]
print("Collection against group-by keys (%d CPUs here; 24 buckets per key, all changing every interval)" % cpus)
benchlib.table(["keys", "map entries", "points", "collect ms", "us/key", "map read ms", "ns/(entry*CPU)",
                "read ms at 64 CPUs*", "OTLP KiB", "gzip KiB*"], rows)
print("* estimates: the map read is per entry and per possible CPU (the kernel copies one value per CPU);")
print("  gzip compresses these synthetic keys (identical buckets) far better than real ones.")
with open(sys.argv[2], "w") as f:
    json.dump({"cpus": cpus, "runs": runs}, f)
PY
bench_record scale "$TMP/result.json"
