#!/usr/bin/env bash
# The container image and the DaemonSet, for real, without Kubernetes:
# builds docker/Dockerfile with podman (the base image of its FROM made by
# debootstrap when podman has none: tools/container-base.sh) under the name
# the DaemonSet uses, then runs it the way the kubelet would: the DaemonSet
# container's capabilities, security settings, memory and CPU limits,
# volume mounts (the ConfigMap's files, the host's read-only paths, a test
# directory for the writable hostPath), environment (downward-API values
# filled in) and arguments, all read from docker/daemonset.yaml by
# tests/tools/k8s_manifest.js, on the host's network, exporting to a real
# OTLP receiver on loopback (OTEL_EXPORTER_OTLP_ENDPOINT overridden, the
# one change). Checks: the image holds the agent, its plugin and config but
# no compiler; the DaemonSet's startup, liveness and readiness probes answer
# 200 (readiness only once the first export got through); every thread of
# the agent has no capability left and no_new_privs; the receiver gets valid
# OTLP with real kernel data and the downward-API resource attributes; a
# traffic run lands in the writable mount; SIGTERM (podman stop) exits 0
# and leaves no program of the agent loaded. Skipped when podman is not
# usable here. Caches: the debootstrap tarball in /var/cache/hostlat, the
# image layers in podman's store (the first run takes a few minutes).
source "$(dirname "$0")/95-podman-common.sh"
NAME=hostlat-test-$HL_ID
build_image

# ---- the image -----------------------------------------------------------------------
[ "$(podman image inspect -f '{{json .Config.Entrypoint}}' "$IMAGE")" = '["/usr/bin/hostlat"]' ] ||
	fail "the entrypoint is not the agent"
tools_in=$(podman run --rm --pull=never --network=none --entrypoint /bin/sh "$IMAGE" -c \
	'for t in cc gcc clang make bpftool ld; do command -v $t; done; true')
[ -z "$tools_in" ] || fail "the runtime image holds build tools: $tools_in"
mkdir -p "$TMP/check"
cat >"$TMP/check/plugin.yaml" <<'YAML'
exporters:
  - { type: plugin, path: /usr/lib/hostlat/hostlat_csv.so, config: { file: /tmp/x.csv } }
YAML
check_runs "$TMP/check.out" podman run --rm --pull=never --network=none -v "$TMP/check:/check:ro" \
	"$IMAGE" --check --config /check/plugin.yaml
grep -q "^plugin /usr/lib/hostlat/hostlat_csv.so: exporter 'csv'" "$TMP/check.out" ||
	fail "the plugin did not load: $(cat "$TMP/check.out")"
check_runs "$TMP/check.out" podman run --rm --pull=never --network=none "$IMAGE" --check
ok "image: entrypoint, plugin and default config; no build tools"

# ---- the receiver --------------------------------------------------------------------
RCV_LOG=$TMP/receiver.jsonl
start_otlp_receiver "$TMP/receiver.out" --log "$RCV_LOG"

# ---- the DaemonSet's container -------------------------------------------------------
NODE=test-node-$HL_ID
mapfile -t ARGS < <($M podman docker --name "$NAME" --config-dir "$TMP/configmaps" \
	--state-dir "$TMP/hostpath" --node-name "$NODE" \
	--env "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RCV_PORT")
[ ${#ARGS[@]} -gt 4 ] || fail "no podman arguments from the manifest"
printf 'podman run'
printf ' %q' "${ARGS[@]}"
echo
mapfile -t PROBES < <($M probes docker)
health_port=$(echo "${PROBES[0]}" | sed -n 's|.*://[^:]*:\([0-9]*\)/.*|\1|p')
port_free "$health_port" ||
	skip "port $health_port of the DaemonSet's health endpoint is taken on this host"

on_exit "podman rm -f -t 0 $NAME || { sleep 2; podman rm -f -t 0 $NAME; }"
podman run -d --pull=never "${ARGS[@]}" >/dev/null || fail "podman run failed"
url_of() { for p in "${PROBES[@]}"; do [ "${p%% *}" = "$1" ] && echo "${p#* }"; done; }
wait_for 60 http_is 200 "$(url_of startupProbe)" || {
	podman logs "$NAME" >&2
	fail "the startup probe $(url_of startupProbe) did not answer 200"
}
ok "startupProbe: $(cat "$TMP/http.body")"
PID=$(podman inspect -f '{{.State.Pid}}' "$NAME")
[ "$PID" -gt 0 ] || fail "the container is not running"
podman logs "$NAME" >"$TMP/agent.log" 2>&1
grep "capabilities kept" "$TMP/agent.log" || fail "the agent did not drop its capabilities"

# Least privilege inside the container: every thread, nothing left.
threads=$(threads_dropped /proc/"$PID") || exit 1
ok "$threads threads, each with CapEff 0, CapPrm 0 and no_new_privs"
IDS=$(agent_prog_ids "$PID")
[ -n "$IDS" ] || fail "the agent holds no BPF program"

# Readiness only after the first export got through (interval from the ConfigMap).
http_is 200 "$(url_of livenessProbe)" || fail "the liveness probe answered $(cat "$TMP/http.body")"
wait_for 40 http_is 200 "$(url_of readinessProbe)" || {
	podman logs "$NAME" >&2
	fail "the readiness probe never answered 200: $(cat "$TMP/http.body")"
}
lines_at_least 1 "$RCV_LOG" || fail "ready before any request reached the receiver"
ok "readinessProbe: $(cat "$TMP/http.body")"

# What the agent costs (README, Deployment): resident memory, CPU, BPF maps.
cg=$(awk -F: '$2 == "memory" || $2 == "" {print $3; exit}' /proc/"$PID"/cgroup)
mem=$(cat "/sys/fs/cgroup/memory$cg/memory.max_usage_in_bytes" 2>/dev/null ||
	cat "/sys/fs/cgroup$cg/memory.peak" 2>/dev/null || echo "?")
ticks=$(awk '{print $14 + $15}' /proc/"$PID"/stat)
cpu_s=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')
# The agent's maps (the IDs its file descriptors hold): their kernel memory
# (memlock) and its per-CPU part, what the per-CPU maps (percpu_*) hold on
# each possible CPU: max_entries values of round_up(value size, 8) bytes
# (and the traffic slots, an array of one block per possible CPU).
map_ids=$(fd_bpf_ids map "$PID")
[ -n "$map_ids" ] || fail "the agent holds no BPF map"
maps=$(bpftool -j map show | "$PY" -c '
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
ms = [m for m in json.load(sys.stdin) if m["id"] in ids]
if len(ms) != len(ids):
    sys.exit("bpftool lists %d of the %d maps the agent holds" % (len(ms), len(ids)))
cpus = 0
for r in sys.argv[2].split(","):
    lo, _, hi = r.partition("-")
    cpus += int(hi or lo) - int(lo) + 1
total = sum(m["bytes_memlock"] for m in ms)
per_cpu = sum(m["max_entries"] * ((m["bytes_value"] + 7) // 8 * 8) for m in ms if m["type"].startswith("percpu_"))
# the traffic slots: a plain array of one block per possible CPU
per_cpu += sum(m["max_entries"] * m["bytes_value"] // cpus for m in ms if m["type"] == "array" and m.get("name") == "slots")
print("%.2f MiB (%d maps), %.2f MiB per CPU x %d CPUs + %.2f MiB" %
      (total / 2**20, len(ms), per_cpu / 2**20, cpus, (total - per_cpu * cpus) / 2**20))
' "$map_ids" "$(cat /sys/devices/system/cpu/possible)") || fail "cannot size the agent's maps: $maps"
echo "resources: VmHWM $(awk '/^VmHWM/ {print $2, $3}' /proc/"$PID"/status)," \
	"BPF maps $maps," \
	"container memory peak $mem bytes, CPU $ticks ticks = $cpu_s s since start"

# The data: valid OTLP, real kernel events, the downward-API attributes.
sleep 1
"$PY" - "$RCV_LOG" "$NODE" "$NAME" <<'PY' || fail "the receiver's data is not what the agent should send"
import json, sys
log, node, pod = sys.argv[1:4]
reqs = [json.loads(l) for l in open(log) if l.strip()]
if not reqs:
    sys.exit("no request")
bad = [r for r in reqs if not r["valid"] or r["status"] != 200]
if bad:
    sys.exit("invalid or refused: %s" % [(r["seq"], r["errors"][:2]) for r in bad])
res = reqs[-1]["resource"]
want = {"k8s.node.name": node, "k8s.pod.name": pod, "k8s.namespace.name": "hostlat",
        "k8s.pod.uid": "00000000-0000-4000-8000-000000000000", "service.name": "hostlat"}
for k, v in want.items():
    if res.get(k) != v:
        sys.exit("resource %s = %r, expected %r" % (k, res.get(k), v))
metrics = {m["name"]: m for m in reqs[-1]["metrics"]}
for name in ("hostlat.stack.latency", "hostlat.softirq.duration", "hostlat.napi.polls",
             "hostlat.exporter.sent"):
    if name not in metrics:
        sys.exit("no %s in %s" % (name, sorted(metrics)))
# Softirqs run all the time (this very export went through NET_RX on loopback).
n = sum(int(p.get("count", 0)) for p in metrics["hostlat.softirq.duration"]["points"])
if n <= 0:
    sys.exit("hostlat.softirq.duration counted nothing")
print("ok: %d requests, %d metrics, %d softirq runs timed, resource %s" %
      (len(reqs), len(metrics), n, {k: res[k] for k in sorted(want)}))
PY
# Runs start on UTC multiples of every (10 s, align: wallclock): the first
# one can end some 12 s after the start.
wait_for 30 sh -c "ls '$TMP/hostpath'/*/traffic/hostlat-traffic-*.csv.gz >/dev/null 2>&1" ||
	fail "no traffic run was stored in the writable hostPath volume"
ok "traffic runs stored in the hostPath volume: $(ls "$TMP/hostpath"/*/traffic | wc -l) files"

# SIGTERM, as the kubelet stops a pod: a final export, exit 0, nothing left.
podman stop -t 25 "$NAME" >/dev/null || fail "podman stop failed"
rc=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
podman logs "$NAME" >"$TMP/agent.log" 2>&1
[ "$rc" = 0 ] || { tail -n 20 "$TMP/agent.log" >&2; fail "the agent exited with $rc"; }
grep -q "exporting once more and stopping" "$TMP/agent.log" || fail "no final export"
# shellcheck disable=SC2086
wait_for 10 progs_gone $IDS || fail "programs of the agent are still loaded: $IDS"
! grep "^hostlat: error:" "$TMP/agent.log" || fail "the agent logged errors"
ok "stopped with exit status 0; its programs are gone"
