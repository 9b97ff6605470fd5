"""TCP streams for the per-socket tests (32-stack-hol, 33-stack-standing-queue).

send HOST PORT KBYTES_PER_S SECONDS [WRITE]: one connection, KBYTES_PER_S
    written at a steady pace in WRITE-byte writes (default 4096) for SECONDS,
    then close.
recv PORT OUT [CHUNK [STALL_EVERY_MS STALL_MS [RCVBUF]]]: accept one connection
    and read it to the end, CHUNK bytes per read at most (default 262144); with
    a stall, stop reading for STALL_MS every STALL_EVERY_MS; RCVBUF sets
    SO_RCVBUF (a small one keeps TCP from coalescing a whole stall's data into
    skbs stamped with their newest segment). Each read's own ground
    truth is written to OUT, one line per read: now - the SO_TIMESTAMPNS
    stamp the kernel hands the read (the receive stamp of the last skb it
    copied), in ns. Prints "listening" once it listens, and a summary at the
    end: reads, reads of 200 ms or more, the largest.
udpsend HOST PORT PER_S SECONDS: PER_S datagrams of 512 bytes a second, at a
    steady pace, for SECONDS; then one datagram "end".
udprecv PORT STALL_EVERY_MS STALL_MS: read datagrams until "end" (or 30 s of
    silence), stopping for STALL_MS every STALL_EVERY_MS. Prints "listening",
    then the number of datagrams.
"""
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS


def send(host, port, kbps, seconds, size=4096):
    s = socket.create_connection((host, port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b"x" * size
    per_write = size / (kbps * 1024.0)
    start = time.monotonic()
    n = 0
    while True:
        due = start + n * per_write
        now = time.monotonic()
        if now - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        s.sendall(buf)
        n += 1
    s.shutdown(socket.SHUT_WR)
    s.settimeout(60)
    while s.recv(4096):
        pass
    s.close()


def recv(port, out, chunk=262144, stall_every_ms=0, stall_ms=0, rcvbuf=0):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("listening", flush=True)
    conn, _ = ls.accept()
    conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    lat = []
    next_stall = time.monotonic() + stall_every_ms / 1000.0
    while True:
        if stall_ms and time.monotonic() >= next_stall:
            time.sleep(stall_ms / 1000.0)
            next_stall = time.monotonic() + stall_every_ms / 1000.0
        data, anc, _, _ = conn.recvmsg(chunk, socket.CMSG_SPACE(16))
        now = time.clock_gettime_ns(time.CLOCK_REALTIME)
        if not data:
            break
        for level, typ, d in anc:
            if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS and len(d) >= 16:
                sec, nsec = struct.unpack("qq", d[:16])
                lat.append(now - (sec * 1000000000 + nsec))
    conn.close()
    with open(out, "w") as f:
        f.write("".join("%d\n" % v for v in lat))
    big = sum(1 for v in lat if v >= 200000000)
    print("reads %d, >=200ms %d, max %.1f ms" % (len(lat), big, max(lat or [0]) / 1e6), flush=True)


def udpsend(host, port, per_s, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / per_s
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        s.sendto(b"x" * 512, (host, port))
        n += 1
    for _ in range(3):
        s.sendto(b"end", (host, port))
        time.sleep(0.05)


def udprecv(port, stall_every_ms, stall_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(30)
    print("listening", flush=True)
    n = 0
    next_stall = None
    while True:
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        if data == b"end":
            break
        n += 1
        if next_stall is None:
            next_stall = time.monotonic() + stall_every_ms / 1000.0
        if time.monotonic() >= next_stall:
            time.sleep(stall_ms / 1000.0)
            next_stall = time.monotonic() + stall_every_ms / 1000.0
    print("datagrams %d" % n, flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "send":
        send(a[1], int(a[2]), float(a[3]), float(a[4]), *[int(x) for x in a[5:]])
    elif a[0] == "recv":
        recv(int(a[1]), a[2], *[int(x) for x in a[3:]])
    elif a[0] == "udpsend":
        udpsend(a[1], int(a[2]), float(a[3]), float(a[4]))
    elif a[0] == "udprecv":
        udprecv(int(a[1]), int(a[2]), int(a[3]))
    else:
        sys.exit(__doc__)
