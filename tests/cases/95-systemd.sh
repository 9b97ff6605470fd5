#!/usr/bin/env bash
# `make install` and the systemd unit, for real: installs into a staging
# directory (DESTDIR) with PREFIX=/usr and with the default PREFIX, checks
# the files, their modes, the unit's paths, that an existing config is kept
# and what `make uninstall` leaves; then boots systemd in a container (the
# image of docker/Dockerfile plus systemd, the staged files copied in) and
# runs the installed unit there: `systemd-analyze verify` passes, the agent
# starts under the unit's sandbox (its own dynamic user, ambient
# capabilities, seccomp filter, read-only system), answers on its health
# endpoint, stores traffic runs in its state directory, holds no capability
# in any thread, survives `systemctl reload` and stops with status 0. The
# unit's exposure score (`systemd-analyze security --offline`) must stay
# "OK" or better. Skipped when podman is not usable here.
source "$(dirname "$0")/95-podman-common.sh"
NAME=hostlat-systemd-$HL_ID
HEALTH_PORT=$((19000 + HL_ID % 1000))
port_free "$HEALTH_PORT" || skip "port $HEALTH_PORT is taken"
[ -x "$BUILD/hostlat" ] || fail "$BUILD/hostlat is not built"

# ---- make install ----------------------------------------------------------------------
install_to() { make --no-print-directory BUILD="$BUILD" install DESTDIR="$1" "${@:2}" >"$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log" >&2; fail "make install $*"; }; }
mode() { stat -c %a "$1"; }
S=$TMP/stage
install_to "$S" PREFIX=/usr
for f in usr/bin/hostlat:755 usr/lib/hostlat/hostlat_csv.so:644 etc/hostlat/hostlat.yaml:644 \
	usr/lib/systemd/system/hostlat.service:644; do
	[ -f "$S/${f%:*}" ] || fail "make install did not install /${f%:*}"
	[ "$(mode "$S/${f%:*}")" = "${f#*:}" ] || fail "/${f%:*} has mode $(mode "$S/${f%:*}"), not ${f#*:}"
done
grep -qx 'ExecStart=/usr/bin/hostlat --config /etc/hostlat/hostlat.yaml' \
	"$S/usr/lib/systemd/system/hostlat.service" || fail "the unit's ExecStart does not use PREFIX=/usr"
cmp -s config/hostlat.yaml "$S/etc/hostlat/hostlat.yaml" || fail "the installed config is not the default"
D=$TMP/default
install_to "$D"
grep -qx 'ExecStart=/usr/local/bin/hostlat --config /usr/local/etc/hostlat/hostlat.yaml' \
	"$D/usr/local/lib/systemd/system/hostlat.service" || fail "the default PREFIX is not /usr/local"
echo "# mine" >>"$D/usr/local/etc/hostlat/hostlat.yaml"
install_to "$D"
tail -n 1 "$D/usr/local/etc/hostlat/hostlat.yaml" | grep -qx "# mine" ||
	fail "make install replaced an existing config"
make --no-print-directory BUILD="$BUILD" uninstall DESTDIR="$D" >/dev/null
left=$(cd "$D" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./usr/local/etc/hostlat/hostlat.yaml " ] || fail "make uninstall left: $left"
ok "make install: files, modes and paths for PREFIX=/usr and /usr/local; config kept; uninstall"

# The unit's hardening, as systemd itself rates it.
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	systemd-analyze security --offline=yes "$S/usr/lib/systemd/system/hostlat.service" \
		>"$TMP/security.txt" 2>&1 || true
	level=$(sed -n 's/.*Overall exposure level for hostlat.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$TMP/security.txt")
	[ -n "$level" ] || { cat "$TMP/security.txt" >&2; fail "no exposure level"; }
	case ${level#* } in OK | SAFE) ;; *) fail "exposure level $level" ;; esac
	ok "systemd-analyze security: exposure $level"
fi

# ---- systemd in a container, the installed files in it ---------------------------
build_image
cat >"$S/etc/hostlat/hostlat.yaml" <<YAML
agent: { interval: 1s, health: { listen: "127.0.0.1:$HEALTH_PORT" } }
probes:
  traffic: { every: 1s, samples: 100 }
exporters:
  - { type: stdout, format: json }
YAML
chmod 644 "$S/etc/hostlat/hostlat.yaml"
# The base and runtime packages of the Dockerfile's last stage, systemd, then
# the agent and plugin of the image (built on the same Debian release) and
# the unit and config that make install staged.
packages=$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"$/\1/p' docker/Dockerfile)
[ -n "$packages" ] || fail "no ARG RUNTIME_PACKAGES in docker/Dockerfile"
mkdir -p "$TMP/ctx/etc/hostlat" "$TMP/ctx/usr/lib/systemd/system"
cp -p "$S/etc/hostlat/hostlat.yaml" "$TMP/ctx/etc/hostlat/"
cp -p "$S/usr/lib/systemd/system/hostlat.service" "$TMP/ctx/usr/lib/systemd/system/"
cat >"$TMP/Containerfile" <<EOF
FROM $BASE_IMAGE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \\
    --no-install-recommends $packages systemd procps && rm -rf /var/lib/apt/lists/*
COPY --from=$IMAGE /usr/bin/hostlat /usr/bin/hostlat
COPY --from=$IMAGE /usr/lib/hostlat/ /usr/lib/hostlat/
COPY ctx/ /
ENTRYPOINT ["/lib/systemd/systemd"]
CMD []
EOF
timeout 300 podman build --pull=never --network=host --layers --label hostlat.test=95 \
	-f "$TMP/Containerfile" -t localhost/hostlat-systemd-test "$TMP" >"$TMP/build-systemd.log" 2>&1 || {
	tail -n 20 "$TMP/build-systemd.log" >&2
	fail "cannot build the systemd image"
}
# Its earlier builds, now untagged, only take space.
podman image prune -f --filter label=hostlat.test=95 >/dev/null 2>&1 || true
# systemd as PID 1 sets up each unit's sandbox (mount namespaces, seccomp):
# the container is privileged, the unit under test is not.
on_exit "podman rm -f -t 0 $NAME || { sleep 2; podman rm -f -t 0 $NAME; }"
podman run -d --pull=never --name "$NAME" --systemd=always --privileged --network=host \
	localhost/hostlat-systemd-test >/dev/null || fail "cannot start systemd in a container"
in_ct() { podman exec "$NAME" "$@"; }
booted() { case $(in_ct systemctl is-system-running 2>/dev/null) in running | degraded) return 0 ;; esac; return 1; }
wait_for 60 booted || fail "systemd did not boot: $(in_ct systemctl is-system-running 2>&1)"
in_ct systemd-analyze verify /usr/lib/systemd/system/hostlat.service >"$TMP/verify.txt" 2>&1 ||
	{ cat "$TMP/verify.txt" >&2; fail "systemd-analyze verify"; }
ok "systemd-analyze verify hostlat.service"

in_ct systemctl start hostlat || { in_ct journalctl -u hostlat --no-pager >&2; fail "systemctl start hostlat"; }
wait_for 30 http_is 200 "http://127.0.0.1:$HEALTH_PORT/readyz" || {
	in_ct journalctl -u hostlat --no-pager -o cat | grep -v '^{' >&2
	fail "the agent under systemd never became ready"
}
ok "ready: $(cat "$TMP/http.body")"
MAIN=$(in_ct systemctl show -p MainPID --value hostlat)
[ "$MAIN" -gt 0 ] || fail "no main PID"
# The agent seen from here: the child of the container's systemd whose PID
# in the container's namespace is MainPID.
INIT=$(podman inspect -f '{{.State.Pid}}' "$NAME")
PID=$(for d in /proc/[0-9]*; do
	[ "$(awk '/^PPid:/ {print $2}' "$d/status" 2>/dev/null)" = "$INIT" ] &&
		[ "$(awk '/^NSpid:/ {print $NF}' "$d/status")" = "$MAIN" ] && echo "${d#/proc/}"
done 2>/dev/null | head -n 1)
[ -n "$PID" ] || fail "cannot find the agent's process"
uid=$(awk '/^Uid:/ {print $2}' /proc/"$PID"/status)
[ "$uid" != 0 ] || fail "the agent runs as root"
[ "$(awk '/^Seccomp:/ {print $2}' /proc/"$PID"/status)" = 2 ] || fail "no seccomp filter"
threads=$(threads_dropped /proc/"$PID") || exit 1
ok "agent: uid $uid (dynamic), seccomp filter, $threads threads without capabilities, no_new_privs"
in_ct journalctl -u hostlat --no-pager -o cat | grep -v '^{' >"$TMP/journal.txt"
grep -q "capabilities kept after start: none" "$TMP/journal.txt" || fail "capabilities were kept"
! grep "^hostlat: error:" "$TMP/journal.txt" || fail "the agent logged errors"
wait_for 10 in_ct sh -c 'ls /var/lib/hostlat/traffic/hostlat-traffic-*.csv.gz' >/dev/null 2>&1 ||
	fail "no traffic run in the state directory"
[ "$(in_ct stat -c %u /var/lib/private/hostlat)" = "$uid" ] || fail "the state directory is not the agent's"
ok "traffic runs in /var/lib/hostlat, owned by the agent's user"

in_ct systemctl reload hostlat || fail "systemctl reload"
sleep 1.5
in_ct systemctl is-active -q hostlat || fail "the agent did not survive a reload"
http_is 200 "http://127.0.0.1:$HEALTH_PORT/healthz" || fail "not healthy after a reload"
in_ct systemctl stop hostlat
result=$(in_ct systemctl show -p Result --value hostlat)
status=$(in_ct systemctl show -p ExecMainStatus --value hostlat)
[ "$result" = success ] && [ "$status" = 0 ] || fail "stopped with result $result, status $status"
ok "reload kept it running; stop: result $result, exit status $status"
