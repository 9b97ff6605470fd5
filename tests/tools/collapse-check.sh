#!/usr/bin/env bash
# collapse-check.sh [COLLAPSE.PY RUN OPTIONS...]: as root, make two network
# namespaces joined by a veth pair (tests/lib.sh's netns_pair: 198.18.0.1
# sender, 198.18.0.2 receiver; removed again on any exit), run tests/tools/collapse.py between them and
# report how often the kernel collapsed the receiver's queue, from the
# receiver namespace's TcpExt counters (before, after, increment):
# TCPRcvCollapsed (skbs collapsed by tcp_collapse), PruneCalled
# (tcp_prune_queue calls) and RcvPruned (prunes that had to drop data).
# Extra arguments go to "collapse.py run" (e.g. --rounds 5 --stall 2).
# Exits 0 when TCPRcvCollapsed rose, 1 when it did not or the run failed.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "collapse-check: needs root" >&2; exit 1; }
source "$(dirname "$0")/../lib.sh"

# veth may be a module (guest kernels); ip link add would load it, but be explicit.
[ -d /sys/module/veth ] || modprobe veth 2>/dev/null || true
netns_pair cxsnd cxrcv
snd=$NS_A
rcv=$NS_B

# counters NS: "PruneCalled RcvPruned TCPRcvCollapsed" of NS's TcpExt line.
counters() {
	ip netns exec "$1" cat /proc/net/netstat | awk '
		$1 == "TcpExt:" && !names { for (i = 2; i <= NF; i++) k[$i] = i; names = 1; next }
		$1 == "TcpExt:" { print $k["PruneCalled"], $k["RcvPruned"], $k["TCPRcvCollapsed"] }'
}
read -r p0 r0 c0 <<<"$(counters "$rcv")"
rc=0
"$PY" tests/tools/collapse.py run --server-netns "$rcv" --client-netns "$snd" \
	--addr 198.18.0.2 --port 7411 "$@" || rc=$?
read -r p1 r1 c1 <<<"$(counters "$rcv")"
printf 'collapse-check: %-16s %8s %8s %8s\n' counter before after increment
printf 'collapse-check: %-16s %8d %8d %8d\n' TCPRcvCollapsed "$c0" "$c1" $((c1 - c0)) \
	PruneCalled "$p0" "$p1" $((p1 - p0)) RcvPruned "$r0" "$r1" $((r1 - r0))
[ $rc -eq 0 ] || { echo "collapse-check: FAIL: collapse.py exited $rc" >&2; exit 1; }
[ $((c1 - c0)) -gt 0 ] || { echo "collapse-check: FAIL: tcp_collapse did not collapse anything" >&2; exit 1; }
echo "collapse-check: tcp_collapse collapsed $((c1 - c0)) skbs in $((p1 - p0)) prunes"
