"""Reproduce the TCP receive-queue collapse stall (tcp_prune_queue ->
tcp_collapse) between two network namespaces, without packet loss, netem
or nftables.

How: the receiver sets a small SO_RCVBUF before listen() (so the window it
offers is small too: it inherits to the accepted socket) and stops reading
for --stall seconds, several times (--rounds), while the sender writes one
byte at a time with TCP_NODELAY, in bursts of --burst writes --gap seconds
apart, so that the writes leave as tiny segments, many within one delayed
ACK interval. Each arrives as an skb charged hundreds of bytes (truesize)
for its byte. tcp_try_coalesce can not merge a segment into a tail skb
that is still a clone the sender holds the original of (the sender frees it
on the ACK, which the receiver delays: it does not read), and never more
than MAX_SKB_FRAGS (17) into one skb; so a burst leaves a train of bloated
skbs while the window only counts their bytes. The receive memory
(sk_rmem_alloc) passes sk_rcvbuf long before the window closes, and the
next segment makes tcp_try_rmem_schedule call tcp_prune_queue, which runs
tcp_collapse_ofo_queue and tcp_collapse on the receive queue (copying the
bloated skbs into compact ones: TcpExt TCPRcvCollapsed). The queue bloats
again after a few hundred bytes, so every stall collapses, several times
(the counts per stall are printed): about once per 300 bytes written, so
at a tenth of the default rate it still collapses in every stall (the
bursts, not the pacing, defeat the coalescing). The rate (default
1600 bytes/s) stays under what the window lets in per stall (~2.9 KB for
the default --rcvbuf 4096), so the window does not close and the writes
do not pile up into full-sized segments.

  collapse.py server --bind ADDR --port P [--rcvbuf BYTES] [--stall S]
                     [--drain S] [--rounds N] [--timeout S]
                     [--min-collapsed N]
      Listen on ADDR:P for one connection; per round (--rounds, default 3)
      read nothing for S seconds (default 1), then read for --drain
      seconds (default 0.2); after the last round read to end of file.
      --rcvbuf (default 4096; the kernel doubles it) is set before
      listen(). Checks the byte pattern, answers "received N" to the
      client and prints the bytes received, PruneCalled/TCPRcvCollapsed
      per stall and while reading, and the TcpExt counters of its network
      namespace (/proc/self/net/netstat) over the run: PruneCalled,
      RcvPruned, TCPRcvCollapsed, TCPRcvQDrop, ... Exits 1 when
      TCPRcvCollapsed rose by less than --min-collapsed (default 1; 0: no
      check), on a timeout or a corrupt stream.
      Prints "listening" (flushed) once it accepts connections.
  collapse.py client --connect ADDR --port P [--segment BYTES] [--burst N]
                     [--gap S] [--count N] [--seconds S] [--sndbuf BYTES]
                     [--timeout S]
      Connect and write --segment bytes (default 1) at a time with
      TCP_NODELAY, --burst writes (default 32) back to back every --gap s
      (default 0.02), for --seconds (default 3; with run: --rounds x
      (--stall + --drain), writing through every stall) or --count writes
      (default 20000), whichever ends first; then half-close, wait for the
      server's count and check it against the bytes sent. --sndbuf sets
      SO_SNDBUF (default: the system's).
  collapse.py run --server-netns NS --client-netns NS --addr ADDR --port P
                  [any server or client option]
      Both sides: the server in network namespace NS (ip netns exec), the
      client in the other one, connecting to ADDR (an address of the
      server's namespace); waits for both and exits non-zero when either
      failed.

Every step is bounded: --timeout (default 25 s) limits accepting,
connecting, reading and waiting for the answer; the sender stops after
--count writes or --seconds. Only the given address is contacted. Output
lines start with "collapse-server:", "collapse-client:" or "collapse:";
the server's counter line is
  collapse-server: TcpExt PruneCalled=A RcvPruned=B TCPRcvCollapsed=C ...
(increments over the run). Exit status: 0 done, 1 failed, 2 bad usage.
"""
import argparse
import os
import select
import socket
import subprocess
import sys
import time

COUNTERS = ("PruneCalled", "RcvPruned", "OfoPruned", "TCPRcvCollapsed",
            "TCPRcvQDrop", "TCPRcvCoalesce", "TCPOFOQueue", "TCPOFODrop",
            "TCPZeroWindowDrop", "TCPToZeroWindowAdv", "TCPBacklogDrop")
PATTERN_LEN = 251  # byte i of the stream is i % 251


def pattern(offset, n):
    """n bytes of the stream from offset."""
    start = offset % PATTERN_LEN
    reps = (start + n) // PATTERN_LEN + 1
    return (bytes(range(PATTERN_LEN)) * reps)[start:start + n]


class Failure(Exception):
    pass


def tcpext():
    """TcpExt counters of this process's network namespace."""
    with open("/proc/self/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            return dict(zip(names.split()[1:], map(int, values.split()[1:])))
    raise Failure("no TcpExt line in /proc/self/net/netstat")


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(a):
    out = lambda *m: print("collapse-server:", *m, flush=True)
    before = tcpext()
    ls = socket.socket(family(a.bind), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Before listen(): the accepted socket inherits it and the window it
    # offers in the handshake (and its window scale) follows from it.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind((a.bind, a.port))
    ls.listen(1)
    print("listening", flush=True)
    ls.settimeout(a.timeout)
    try:
        c, peer = ls.accept()
    except socket.timeout:
        raise Failure("no connection within %g s" % a.timeout)
    ls.close()
    deadline = time.monotonic() + a.timeout
    rcvbuf = c.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    t0 = time.monotonic()
    got = 0
    eof = False

    def read_some(until):
        nonlocal got, eof
        while not eof:
            left = until - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([c], [], [], left)
            if not r:
                return
            data = c.recv(65536)
            if not data:
                eof = True
                return
            if data != pattern(got, len(data)):
                raise Failure("stream corrupt in bytes %d..%d" % (got, got + len(data)))
            got += len(data)

    rounds = []
    for _ in range(a.rounds):
        if eof:
            break
        at = tcpext()
        # Stall: read nothing.
        time.sleep(a.stall)
        now = tcpext()
        rounds.append((now.get("PruneCalled", 0) - at.get("PruneCalled", 0),
                       now.get("TCPRcvCollapsed", 0) - at.get("TCPRcvCollapsed", 0)))
        read_some(min(deadline, time.monotonic() + a.drain))
    read_some(deadline)
    if not eof:
        raise Failure("no end of stream within %g s (%d bytes read)" % (a.timeout, got))
    c.sendall(b"received %d\n" % got)
    c.close()
    took = time.monotonic() - t0
    after = tcpext()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in COUNTERS if k in after}
    out("received %d bytes in %.2f s from %s (rcvbuf %d, %d stalls of %g s)"
        % (got, took, peer[0], rcvbuf, len(rounds), a.stall))
    stalls = " ".join("%d/%d" % r for r in rounds)
    reading = (delta.get("PruneCalled", 0) - sum(r[0] for r in rounds),
               delta.get("TCPRcvCollapsed", 0) - sum(r[1] for r in rounds))
    out("PruneCalled/TCPRcvCollapsed per stall: %s, while reading: %d/%d" % ((stalls,) + reading))
    out("TcpExt", " ".join("%s=%d" % kv for kv in delta.items()))
    if delta.get("TCPRcvCollapsed", 0) < a.min_collapsed:
        raise Failure("TCPRcvCollapsed rose by %d, want at least %d: the kernel did not collapse"
                      % (delta.get("TCPRcvCollapsed", 0), a.min_collapsed))


def client(a):
    if a.seconds is None:
        a.seconds = 3.0
    out = lambda *m: print("collapse-client:", *m, flush=True)
    s = socket.socket(family(a.connect), socket.SOCK_STREAM)
    if a.sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, a.sndbuf)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(a.timeout)
    try:
        s.connect((a.connect, a.port))
    except OSError as e:
        raise Failure("cannot connect to %s port %d: %s" % (a.connect, a.port, e))
    t0 = time.monotonic()
    end = t0 + a.seconds
    sent = writes = 0
    # A burst every gap seconds; no catching up after a slow one.
    nxt = t0
    while writes < a.count:
        now = time.monotonic()
        if now >= end:
            break
        if writes % a.burst == 0:
            if nxt > now:
                time.sleep(min(nxt, end) - now)
                continue
            nxt = max(nxt, now) + a.gap
        # A write that would block (window closed, send buffer full) waits
        # at most until the end of the sending time.
        s.settimeout(end - now)
        try:
            n = s.send(pattern(sent, a.segment))
        except socket.timeout:
            break
        sent += n
        writes += 1
    took = time.monotonic() - t0
    s.settimeout(a.timeout)
    s.shutdown(socket.SHUT_WR)
    answer = b""
    try:
        while not answer.endswith(b"\n"):
            d = s.recv(64)
            if not d:
                break
            answer += d
    except socket.timeout:
        raise Failure("no answer from the server within %g s" % a.timeout)
    s.close()
    out("sent %d bytes in %d writes of %d bytes in %.2f s" % (sent, writes, a.segment, took))
    if writes == 0:
        raise Failure("nothing sent")
    if answer != b"received %d\n" % sent:
        raise Failure("server answered %r, want %d bytes" % (answer, sent))
    out("the server received all %d bytes" % sent)


def run(a):
    if a.seconds is None:
        # Writing through every stall, the last one included.
        a.seconds = a.rounds * (a.stall + a.drain)
    me = [sys.executable, os.path.abspath(__file__)]
    common = ["--port", str(a.port), "--timeout", str(a.timeout)]
    srv_opts = ["--bind", a.addr, "--rcvbuf", str(a.rcvbuf), "--stall", str(a.stall),
                "--drain", str(a.drain), "--rounds", str(a.rounds),
                "--min-collapsed", str(a.min_collapsed)]
    cli_opts = ["--connect", a.addr, "--segment", str(a.segment), "--count", str(a.count),
                "--burst", str(a.burst), "--gap", str(a.gap), "--seconds", str(a.seconds), "--sndbuf", str(a.sndbuf)]
    srv = subprocess.Popen(["ip", "netns", "exec", a.server_netns] + me + ["server"] + common + srv_opts,
                           stdout=subprocess.PIPE, text=True)
    try:
        # Wait for "listening" (or the server's failure) before connecting.
        deadline = time.monotonic() + a.timeout
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([srv.stdout], [], [], deadline - time.monotonic())
            if not r:
                break
            line = srv.stdout.readline()
            if not line or line.strip() == "listening":
                break
            sys.stdout.write(line)
        if line.strip() != "listening":
            raise Failure("the server in %s did not start" % a.server_netns)
        crc = subprocess.call(["ip", "netns", "exec", a.client_netns] + me + ["client"] + common + cli_opts,
                              timeout=a.timeout + a.seconds + 10)
        if crc:
            srv.kill()  # it would wait for the connection or data until --timeout
        rest, _ = srv.communicate(timeout=a.timeout + 10)
        sys.stdout.write(rest)
        sys.stdout.flush()
    except subprocess.TimeoutExpired:
        raise Failure("a side did not finish in time")
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    if srv.returncode or crc:
        raise Failure("server exit %d, client exit %d" % (srv.returncode, crc))
    print("collapse: reproduced (%s -> %s)" % (a.client_netns, a.server_netns), flush=True)


def main(argv):
    p = argparse.ArgumentParser(prog="collapse.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)

    def srv_args(q, bind=True):
        if bind:
            q.add_argument("--bind", required=True, help="address to listen on")
        q.add_argument("--rcvbuf", type=int, default=4096, help="SO_RCVBUF (the kernel doubles it)")
        q.add_argument("--stall", type=float, default=1.0, help="seconds to read nothing, per round")
        q.add_argument("--drain", type=float, default=0.2, help="seconds to read between stalls")
        q.add_argument("--rounds", type=int, default=3, help="stall periods")
        q.add_argument("--min-collapsed", type=int, default=1,
                       help="fail when TCPRcvCollapsed rose by less (0: no check)")

    def cli_args(q, connect=True):
        if connect:
            q.add_argument("--connect", required=True, help="server address")
        q.add_argument("--segment", type=int, default=1, help="bytes per write")
        q.add_argument("--count", type=int, default=20000, help="writes at most")
        q.add_argument("--burst", type=int, default=32, help="writes back to back")
        q.add_argument("--gap", type=float, default=0.02, help="seconds from one burst to the next")
        q.add_argument("--seconds", type=float, default=None,
                       help="sending time at most (default 3; run: rounds x (stall + drain))")
        q.add_argument("--sndbuf", type=int, default=0, help="SO_SNDBUF (0: the default)")

    for name, fill in (("server", lambda q: srv_args(q)), ("client", lambda q: cli_args(q)),
                       ("run", lambda q: (srv_args(q, False), cli_args(q, False)))):
        q = sub.add_parser(name)
        q.add_argument("--port", type=int, required=True)
        q.add_argument("--timeout", type=float, default=25.0, help="seconds any wait may take")
        if name == "run":
            q.add_argument("--server-netns", required=True)
            q.add_argument("--client-netns", required=True)
            q.add_argument("--addr", required=True, help="the server's address")
        fill(q)
    a = p.parse_args(argv)
    for k in ("rcvbuf", "rounds", "segment", "count", "burst"):
        if getattr(a, k, 1) < 1:
            p.error("--%s must be at least 1" % k)
    try:
        {"server": server, "client": client, "run": run}[a.mode](a)
    except Failure as e:
        print("collapse-%s: FAIL: %s" % (a.mode, e), file=sys.stderr, flush=True)
        return 1
    except OSError as e:
        print("collapse-%s: FAIL: %s" % (a.mode, e), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
