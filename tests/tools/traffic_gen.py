#!/usr/bin/env python3
"""Traffic for the traffic-sampling tests; every sender logs what it sent.

  sink PORT                      drain UDP on 0.0.0.0:PORT and [::]:PORT
  bursts DST PORT K N SIZE PERIOD_MS LOG
                                 K bursts of N datagrams of SIZE bytes, one burst
                                 every PERIOD_MS; LOG gets "start_ns end_ns l2_bytes"
                                 per burst (CLOCK_REALTIME)
  ecn DST4 DST6 PORT ROUNDS SIZE LOG
                                 per round: IPv4 CE, ECT(0), not-ECT and IPv6 CE,
                                 ECT(1), not-ECT datagrams; LOG gets the CE bytes
  flows DST PORT SECONDS LOG N...
                                 for each N: N UDP flows (distinct source ports),
                                 each sending one datagram every 2 ms, for SECONDS;
                                 LOG gets "n start_ns end_ns" per phase
  tcp DST PORT SECONDS           send as fast as possible over one TCP connection
  tcpsink PORT                   accept TCP connections and drain them

l2_bytes counts what tc sees on a veth: the Ethernet header (14), the IP
header (20 or 40), the UDP header (8) and the payload.
"""
import os
import socket
import sys
import time

ETH, IP4, IP6, UDP = 14, 20, 40, 8


def sink(port):
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s4.bind(("0.0.0.0", port))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.bind(("::", port))
    for s in (s4, s6):
        s.setblocking(False)
    print("listening", flush=True)
    import select
    while True:
        r, _, _ = select.select([s4, s6], [], [], 1.0)
        for s in r:
            try:
                while True:
                    s.recv(65536)
            except BlockingIOError:
                pass


def bursts(dst, port, k, n, size, period_ms, log):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    s.connect((dst, port))
    payload = b"b" * size
    l2 = n * (ETH + IP4 + UDP + size)
    rows = []
    nxt = time.monotonic()
    for _ in range(k):
        t0 = time.time_ns()
        for _ in range(n):
            s.send(payload)
        t1 = time.time_ns()
        rows.append("%d %d %d" % (t0, t1, l2))
        nxt += period_ms / 1000.0
        time.sleep(max(0.0, nxt - time.monotonic()))
    with open(log, "w") as f:
        f.write("\n".join(rows) + "\n")


def ecn(dst4, dst6, port, rounds, size, log):
    payload = b"e" * size
    socks = []
    for fam, dst, tos in ((socket.AF_INET, dst4, 3), (socket.AF_INET, dst4, 2), (socket.AF_INET, dst4, 0),
                          (socket.AF_INET6, dst6, 3), (socket.AF_INET6, dst6, 1), (socket.AF_INET6, dst6, 0)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)
        s.connect((dst, port))
        socks.append((s, fam, tos))
    ce = 0
    for _ in range(rounds):
        for s, fam, tos in socks:
            s.send(payload)
            if tos == 3:
                ce += ETH + (IP4 if fam == socket.AF_INET else IP6) + UDP + size
        time.sleep(0.002)
    with open(log, "w") as f:
        f.write("%d\n" % ce)


def flows(dst, port, seconds, log, counts):
    rows = []
    payload = b"f" * 64
    for n in counts:
        socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect((dst, port))  # an ephemeral source port per flow
            socks.append(s)
        t0 = time.time_ns()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for s in socks:
                s.send(payload)
            time.sleep(0.002)
        t1 = time.time_ns()
        rows.append("%d %d %d" % (n, t0, t1))
        for s in socks:
            s.close()
        time.sleep(0.3)  # a quiet gap between phases
    with open(log, "w") as f:
        f.write("\n".join(rows) + "\n")


def tcp(dst, port, seconds):
    s = socket.create_connection((dst, port), timeout=30)
    chunk = b"t" * 65536
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.send(chunk)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()


def tcpsink(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    print("listening", flush=True)
    while True:
        c, _ = ls.accept()
        while c.recv(1 << 20):
            pass
        c.close()


def main(a):
    if a[0] == "sink":
        sink(int(a[1]))
    elif a[0] == "bursts":
        bursts(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), float(a[6]), a[7])
    elif a[0] == "ecn":
        ecn(a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6])
    elif a[0] == "flows":
        flows(a[1], int(a[2]), float(a[3]), a[4], [int(x) for x in a[5:]])
    elif a[0] == "tcp":
        tcp(a[1], int(a[2]), float(a[3]))
    elif a[0] == "tcpsink":
        tcpsink(int(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
