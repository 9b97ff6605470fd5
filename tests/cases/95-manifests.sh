#!/usr/bin/env bash
# The deployment files, statically: every docker/*.yaml is valid YAML (a
# YAML 1.2 parser, duplicate keys refused) and the objects are complete and
# consistent (tests/tools/k8s_manifest.js check: selectors match, volumes
# and ConfigMaps exist, no privileged container, capabilities dropped but
# BPF/PERFMON/NET_ADMIN, read-only /sys mounts, downward-API variables, the
# OTLP endpoint is the collector's Service and port, the probes GET the
# health address the ConfigMap's config serves...). The checker must refuse
# broken copies, one fault each. The ConfigMap's config passes the agent's
# own --check; the collector's ConfigMap is config/otel-collector.yaml; the
# image tag, the Dockerfile's version label and the Makefile's VERSION
# agree; the runtime stage is debian:bookworm-slim; the systemd unit grants
# exactly the DaemonSet's capabilities.
source "$(dirname "$0")/../lib.sh"
need_npm yaml yaml
M="node tests/tools/k8s_manifest.js"

$M check docker >"$TMP/check.out" 2>&1 || { cat "$TMP/check.out" >&2; fail "the manifests do not pass"; }
cat "$TMP/check.out"

# The checker fails on each of these faults (so that its pass means something).
broken() {
	local what=$1 file=$2 expr=$3
	rm -rf "$TMP/bad" && cp -r docker "$TMP/bad"
	"$PY" - "$TMP/bad/$file" "$expr" <<'PY'
import re, sys
path, expr = sys.argv[1], sys.argv[2]
old, new = expr.split("=>", 1)
text = open(path).read()
if old not in text:
    sys.exit("test bug: %r is not in %s" % (old, path))
open(path, "w").write(text.replace(old, new, 1))
PY
	if $M check "$TMP/bad" >"$TMP/bad.out" 2>&1; then
		fail "the checker accepts manifests with $what"
	fi
	echo "refused ($what): $(tail -n 1 "$TMP/bad.out")"
}
broken "a duplicate key" daemonset.yaml "      hostNetwork: true=>      hostNetwork: true
      hostNetwork: true"
broken "broken indentation" daemonset.yaml "          args: [=>         args: ["
broken "a privileged container" daemonset.yaml "privileged: false=>privileged: true"
broken "a missing capability" daemonset.yaml "add: [BPF, PERFMON, NET_ADMIN]=>add: [BPF, PERFMON]"
broken "SYS_ADMIN" daemonset.yaml "add: [BPF, PERFMON, NET_ADMIN]=>add: [BPF, PERFMON, NET_ADMIN, SYS_ADMIN]"
broken "a writable /sys mount" daemonset.yaml "mountPath: /sys/kernel/btf
              readOnly: true=>mountPath: /sys/kernel/btf"
broken "a readiness probe on /healthz" daemonset.yaml "path: /readyz=>path: /healthz"
broken "probes on another port than the config's" daemonset.yaml 'listen: "127.0.0.1:9466"=>listen: "127.0.0.1:9467"'
broken "an endpoint that is no Service" daemonset.yaml "http://otel-collector.hostlat=>http://collector.hostlat"
broken "a Service selecting nothing" otel-collector.yaml "  selector:
    app.kubernetes.io/name: otel-collector=>  selector:
    app.kubernetes.io/name: collector"
broken "no downward-API node name" daemonset.yaml "fieldPath: spec.nodeName=>fieldPath: spec.hostname"
broken "a --config outside the ConfigMap" daemonset.yaml '"--config", "/etc/hostlat/hostlat.yaml"=>"--config", "/etc/hostlat.yaml"'

# The agent's own parser on the ConfigMap's config.
[ -x "$HOSTLAT" ] || fail "$HOSTLAT is not built"
$M config docker >"$TMP/configmap.yaml"
check_runs "$TMP/agent-check.out" "$HOSTLAT" --check --config "$TMP/configmap.yaml"
ok "hostlat --check accepts the ConfigMap's config"

# The collector's config is config/otel-collector.yaml.
$M collector-config docker >"$TMP/collector.yaml"
node -e '
const Y = require("./tests/node_modules/yaml"), fs = require("fs"), assert = require("assert");
assert.deepStrictEqual(Y.parse(fs.readFileSync(process.argv[1], "utf8")),
	Y.parse(fs.readFileSync("config/otel-collector.yaml", "utf8")));
' "$TMP/collector.yaml" || fail "the collector's ConfigMap differs from config/otel-collector.yaml"
ok "the collector's ConfigMap is config/otel-collector.yaml"

# One version everywhere.
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
image=$($M image docker)
[ "${image##*:}" = "$version" ] || fail "the DaemonSet's image is $image, the version $version"
grep -q "org.opencontainers.image.version=\"$version\"" docker/Dockerfile ||
	fail "the Dockerfile's version label is not $version"
[ "$(awk 'toupper($1) == "FROM" {f = $2} END {print f}' docker/Dockerfile)" = debian:bookworm-slim ] ||
	fail "the runtime stage is not debian:bookworm-slim"
ok "version $version in the Makefile, the image tag and the Dockerfile; runtime on debian:bookworm-slim"

# The systemd unit grants what the DaemonSet grants, and nothing else.
caps_ds=$(sed -n 's/^ *add: \[\(.*\)\]$/\1/p' docker/daemonset.yaml | tr -d ' ' | tr ',' '\n' |
	sed 's/^/CAP_/' | sort | tr '\n' ' ')
for key in CapabilityBoundingSet AmbientCapabilities; do
	caps_unit=$(sed -n "s/^$key=//p" docker/hostlat.service | tr ' ' '\n' | sort | tr '\n' ' ')
	[ -n "$caps_ds" ] && [ "$caps_unit" = "$caps_ds" ] ||
		fail "hostlat.service $key is '$caps_unit', the DaemonSet adds '$caps_ds'"
done
ok "hostlat.service and the DaemonSet grant the same capabilities: $caps_ds"
