"""Workloads for the kernel stall probe tests (tests/cases/80-stall-*.sh).

flood HOST PORT SECONDS [SIZE]: send UDP datagrams as fast as possible.
send HOST PORT COUNT [SIZE [GAP_MS]]: send COUNT UDP datagrams, GAP_MS (1) apart.
sink PORT RCVBUF GO: bind a UDP socket with a small receive buffer, print
    "listening", read nothing until the file GO exists, then count what is
    queued and print "queued N".
pingfill HOST COUNT RCVBUF: send COUNT ICMP echo requests (1000 bytes) from an
    unprivileged ping socket with a small receive buffer, read nothing, then
    print "queued N": the replies that did not fit were refused by the
    socket's full receive queue (sock_rcvqueue_full). Needs
    net.ipv4.ping_group_range to include the caller's group.
reader PORT SECONDS: read UDP datagrams for SECONDS, then print "read N".
hog SECONDS [SPIN_MS SLEEP_MS]: spin on the CPU for SECONDS, or in cycles of
    SPIN_MS spinning and SLEEP_MS sleeping (as a real-time task it then holds
    its CPU for SPIN_MS at a time without hitting the real-time throttle).
"""
import os
import socket
import struct
import sys
import time


def flood(host, port, seconds, size=64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"f" * size
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        for _ in range(256):
            try:
                s.sendto(payload, (host, port))
                sent += 1
            except OSError:
                pass  # ICMP errors from a closed port come back as ECONNREFUSED
    print("sent", sent, flush=True)


def send(host, port, count, size=100, gap_ms=1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"s" * size
    for _ in range(count):
        try:
            s.sendto(payload, (host, port))
        except OSError:
            pass
        time.sleep(gap_ms / 1000.0)


def drain(s):
    """Datagrams waiting in s, read without blocking."""
    s.setblocking(False)
    n = 0
    while True:
        try:
            s.recv(65536)
            n += 1
        except BlockingIOError:
            return n


def hold(s, go):
    print("listening", flush=True)
    while not os.path.exists(go):
        time.sleep(0.05)
    print("queued", drain(s), flush=True)


def sink(port, rcvbuf, go):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("0.0.0.0", port))
    hold(s, go)


def pingfill(host, count, rcvbuf):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    for seq in range(count):
        # type 8 (echo request), code 0, checksum (the kernel fills it), id, seq
        hdr = struct.pack("!BBHHH", 8, 0, 0, 0, seq)
        s.sendto(hdr + b"p" * 992, (host, 0))
        time.sleep(0.001)
    time.sleep(0.3)
    print("queued", drain(s), flush=True)


def reader(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.5)
    print("listening", flush=True)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        try:
            s.recv(2048)
            n += 1
        except socket.timeout:
            pass
    print("read", n, flush=True)


def hog(seconds, spin_ms=0, sleep_ms=0):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        stop = time.monotonic() + spin_ms / 1000.0 if spin_ms else end
        while time.monotonic() < stop:
            for _ in range(1000):
                x += 1
        if sleep_ms:
            time.sleep(sleep_ms / 1000.0)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "flood":
        flood(args[0], int(args[1]), float(args[2]), *(int(a) for a in args[3:]))
    elif cmd == "send":
        send(args[0], int(args[1]), int(args[2]), *(int(a) for a in args[3:]))
    elif cmd == "sink":
        sink(int(args[0]), int(args[1]), args[2])
    elif cmd == "pingfill":
        pingfill(args[0], int(args[1]), int(args[2]))
    elif cmd == "reader":
        reader(int(args[0]), float(args[1]))
    elif cmd == "hog":
        hog(float(args[0]), *(float(a) for a in args[1:]))
    else:
        sys.exit("unknown command " + cmd)
