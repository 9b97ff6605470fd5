# Shared by the 95-* tests that run containers (sourced; not a test itself:
# not executable, so tests/run.sh skips it). Skips when podman is not usable
# here; builds docker/Dockerfile into the image the DaemonSet names.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root
command -v podman >/dev/null || skip "podman is not installed (tools/deps.sh test installs it)"
podman info >/dev/null 2>"$TMP/podman-info.err" ||
	skip "podman is not usable here: $(tail -n 1 "$TMP/podman-info.err")"
need_npm yaml yaml
isolate_env

M="node tests/tools/k8s_manifest.js"
IMAGE=$($M image docker)

# build_image: the base image of the Dockerfile's FROM (debootstrap when
# podman has none: tools/container-base.sh, cached in /var/cache/hostlat),
# then the image itself, named as in docker/daemonset.yaml. Layers stay in
# podman's store: a build without changes takes seconds, the first one
# minutes.
build_image() {
	local base start
	# A short name (debian:bookworm-slim) is imported as localhost/NAME,
	# which is where podman looks for it first without pulling.
	base=$(awk 'toupper($1) == "FROM" { print $2; exit }' docker/Dockerfile)
	BASE_IMAGE=$base
	tools/container-base.sh "$base" || fail "cannot provide the base image $base"
	start=$SECONDS
	timeout "${HOSTLAT_BUILD_TIMEOUT:-300}" podman build --pull=never --network=host --layers \
		--label hostlat.test=95 -f docker/Dockerfile -t "$IMAGE" . >"$TMP/build.log" 2>&1 || {
		tail -n 30 "$TMP/build.log" >&2
		fail "podman build failed (or took longer than ${HOSTLAT_BUILD_TIMEOUT:-300} s)"
	}
	ok "built $IMAGE in $((SECONDS - start)) s ($(podman image inspect -f '{{.Size}}' "$IMAGE" |
		awk '{printf "%.0f MB", $1 / 1e6}'))"
	# Earlier builds of these tests, now untagged: their layers only take space.
	podman image prune -f --filter label=hostlat.test=95 >/dev/null 2>&1 || true
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# threads_dropped PROC_DIR: every thread of the process at PROC_DIR
# (/proc/PID) has empty effective and permitted sets and no_new_privs;
# prints how many threads it checked.
threads_dropped() { threads_with_caps 0000000000000000 "$1"; }
